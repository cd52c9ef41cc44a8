"""Staff accounts of the web console: roles, passwords, sessions (员工账号)."""
