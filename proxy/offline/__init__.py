"""Tools that run on files rather than on traffic: audit reports (text and HTML), replays of
captured flows through a policy, and a policy's test cases."""
