"""Finance (金融) pack for membership: a bank's card program. Bank cards identify members (a
Luhn-checked number kept only as a keyed hash and shown as 622202******1234), points are earned by
merchant category code (MCC: multipliers, excluded categories, instalment and bill-payment rates,
velocity caps per day and month), tiers follow assets under management (monthly average daily
balances fed by a file or the API), enrolment requires an ID number, a passed KYC and the consents
a bank needs, and every member gets a monthly points statement (积分对账单)."""

__version__ = "0.1.0"
