"""The lifelong re-ID benchmark (LReID): plan, task-free evaluation of every step on the seen
tasks and unseen sets, and its tables (Seen-Avg, Unseen-Avg, forgetting, BWT, FWT)."""
