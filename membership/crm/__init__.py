"""Member CRM (会员营销): segments as rules stored as data, RFM scores and lifecycle stages
refreshed by a job, member tags and tags given by rules."""
