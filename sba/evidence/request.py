"""What the homeowner tells the City besides the measurements (SPEC §3.1), and how it is worded.

The app asks for the confirmations, the package carries them, and intake
checks them; all three word them from :data:`CONFIRMATIONS`.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["CONFIRMATIONS", "ChangeRequest", "confirmation"]

#: What a requester confirms for a single-family category change; ``{are}`` is
#: "you are" when speaking to the requester, "they are" when speaking of them.
CONFIRMATIONS: dict[str, str] = {
    "single_family": "the property is a single-family home",
    "one_dwelling_unit": "there is only one dwelling unit on the lot",
    "one_account": "there is only one utility account for the lot",
    "account_holder": "{are} the account holder",
}


def confirmation(key: str, person: str) -> str:
    """The confirmation ``key`` in words, to the requester (``person="you"``) or about them (``"they"``).

    >>> confirmation("account_holder", "they")
    'they are the account holder'
    """
    return CONFIRMATIONS[key].format(are=f"{person} are")


@dataclass(frozen=True)
class ChangeRequest:
    """What the homeowner tells the City besides the measurements (SPEC §3.1)."""

    parcel_id: str
    account_number: str = ""
    address: str = ""
    property_class: str = "single_family"
    dwelling_units: int = 1
    current_category: str | None = None
    imagery: str = ""
    single_family: bool = False
    one_dwelling_unit: bool = False
    one_account: bool = False
    account_holder: bool = False

    def eligibility(self) -> dict[str, bool]:
        """The requester's answers to the four eligibility questions, by name."""
        return {
            "single_family": self.single_family,
            "one_dwelling_unit": self.one_dwelling_unit,
            "one_account": self.one_account,
            "account_holder": self.account_holder,
        }

    def eligibility_problems(self) -> list[str]:
        """Plain-language reasons the City may not accept the request."""
        return [f"You have not confirmed that {confirmation(k, 'you')}." for k, given in self.eligibility().items()
                if not given]
