"""Amazon EventBridge: buses, rules, targets, schedules, archives and replays, API destinations."""
