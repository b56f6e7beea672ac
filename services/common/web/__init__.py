"""Assets both services' pages load: the common style sheet, the common script module
(elements, formatting, the token kept in the tab, dialogs) and the icon."""
