"""The Streamlit pages of the app; app.py routes between them."""
