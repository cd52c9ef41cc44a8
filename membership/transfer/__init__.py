"""Members in and out in bulk (导入导出): importing a business's members from a CSV or Excel file
(:mod:`membership.transfer.importing`) and exporting members, the ledger and sales
(:mod:`membership.transfer.exporting`), from the command line (``membership import members``,
``membership export members|ledger|sales``) and the console (``/console/members/import`` and
``/console/members/export``).

Files are read and written a row at a time (:mod:`membership.transfer.sheets`); which column holds
what is detected from common Chinese and English headers (:mod:`membership.transfer.columns`);
cells are read by :mod:`membership.transfer.values` (money as decimals into fen, never floats).
"""
