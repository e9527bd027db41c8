"""The audit log: an append-only row for every change to who may do what and spend how
much (users, teams and memberships, budgets, pre-filter terms and categories, kits, API
tokens), with who made it, when, from where (admin, API, command, web) and before → after.

trail.record is the one writer; signals.py calls it for the tracked models whoever saves
them, with the actor and channel that middleware.AuditMiddleware (or trail.acting, in a
management command) holds for the current request."""
