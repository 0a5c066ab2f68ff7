"""Background tasks as the API shows them: one row per job a user started (GET /tasks/{id}).

Features create a row in the same transaction as the thing the job works on, enqueue the job
after that transaction commits, and let the job move the row from `queued` to `running` to
`succeeded` or `failed`, with its progress on the way.
"""
