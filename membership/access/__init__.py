"""Who may call the API: API keys with scopes, bound to a merchant or a store."""
