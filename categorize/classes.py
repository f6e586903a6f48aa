"""Property classes a rate schedule bills differently.

Examples
--------
>>> PropertyClass.parse("Non-Residential")
<PropertyClass.NON_RESIDENTIAL: 'non_residential'>
"""

from __future__ import annotations

from enum import StrEnum

from categorize.errors import MissingClassError, UnknownClassError

__all__ = ["PropertyClass"]


class PropertyClass(StrEnum):
    """The four customer classes of the Portland rate structure (SPEC A2, §1.3).

    ``single_family`` covers houses, houses with an ADU and duplexes (1-2
    dwelling units), and 3+ individually metered dwellings on one lot.
    ``multifamily`` is 3+ dwelling units; ``mixed_use`` has commercial and
    residential units; ``non_residential`` has no dwelling units.
    """

    SINGLE_FAMILY = "single_family"
    MULTIFAMILY = "multifamily"
    MIXED_USE = "mixed_use"
    NON_RESIDENTIAL = "non_residential"

    @property
    def residential(self) -> bool:
        """Whether sewer volume follows the residential winter-average rules.

        >>> PropertyClass.MIXED_USE.residential, PropertyClass.NON_RESIDENTIAL.residential
        (True, False)
        """
        return self is not PropertyClass.NON_RESIDENTIAL

    @classmethod
    def choices(cls) -> list[str]:
        """Return the accepted names, in declaration order.

        >>> PropertyClass.choices()
        ['single_family', 'multifamily', 'mixed_use', 'non_residential']
        """
        return [member.value for member in cls]

    @classmethod
    def parse(cls, value: PropertyClass | str) -> PropertyClass:
        """Return the class named by ``value``.

        Case is ignored, surrounding spaces are dropped, and ``-`` or a space
        may stand for ``_``.

        Parameters
        ----------
        value : PropertyClass or str
            A member, or its name such as ``"single-family"``.

        Returns
        -------
        PropertyClass

        Raises
        ------
        UnknownClassError
            If ``value`` names no class; the message lists the choices.

        Examples
        --------
        >>> PropertyClass.parse("SINGLE-FAMILY")
        <PropertyClass.SINGLE_FAMILY: 'single_family'>
        >>> PropertyClass.parse("castle") # doctest: +NORMALIZE_WHITESPACE
        Traceback (most recent call last):
        ...
        categorize.errors.UnknownClassError: Unknown property class 'castle'.
        Choose one of: single_family, multifamily, mixed_use, non_residential.
        """
        if isinstance(value, cls):
            return value
        if isinstance(value, str):
            key = value.strip().lower().replace("-", "_").replace(" ", "_")
            for member in cls:
                if member.value == key:
                    return member
        raise UnknownClassError(
            f"Unknown property class {value!r}. "
            f"Choose one of: {', '.join(cls.choices())}."
        )

    @classmethod
    def from_code(cls, code: str | None, class_map: dict[str, str] | None = None) -> PropertyClass:
        """Return the class a parcel layer's class column names for one lot.

        ``code`` is looked up in ``class_map`` (a utility's own codes mapped
        to class names, as ``--class-map`` gives them) and otherwise read as
        a class name (:meth:`parse`).  Spaces around a code are not part of
        it: fixed-width exports pad codes, and ``"101 "`` is code ``101``.

        Parameters
        ----------
        code : str or None
            The column's value for the lot; None when it has none.
        class_map : dict of str to str, optional
            Code to class name.

        Raises
        ------
        MissingClassError
            If the lot has no code (None, empty or only spaces).
        UnknownClassError
            If the code is not mapped and names no class.

        Examples
        --------
        >>> PropertyClass.from_code(" 101", {"101": "multifamily"})
        <PropertyClass.MULTIFAMILY: 'multifamily'>
        >>> PropertyClass.from_code("  ")
        Traceback (most recent call last):
        ...
        categorize.errors.MissingClassError: The parcel has no property class.
        """
        key = (code or "").strip()
        if not key:
            raise MissingClassError("The parcel has no property class.")
        return cls.parse((class_map or {}).get(key, key))
