"""Member care (会员关怀与服务): satisfaction surveys (NPS, CSAT) sent after a purchase or a closed
ticket and answered through a signed link, and service tickets (complaints, enquiries,
suggestions) with a response-time SLA and escalation."""
