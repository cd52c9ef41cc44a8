"""Tourism (文旅景区) pack for membership: annual and seasonal passes (年卡/季卡) checked at the gates
by a rotating QR e-card, an ID card or a physical card, family members on a holder's pass (主卡/副卡),
blackout dates and re-entry rules, cross-venue benefits for pass holders (跨业态权益), and the
reports a scenic area lives by: revisit rate (重游率), secondary-consumption rate (二次消费率),
entries by hour and gate, pass renewals."""

__version__ = "0.1.0"
