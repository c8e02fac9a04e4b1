"""The adversarial suite: each test is one attack on pydock, made the way an attacker would make it.

Archives are crafted inside the test, races are bounded in tries and time, canaries are files the test
made (never a real system file), and everything runs in the session's own namespaces like the rest of
the privileged suite. A test here fails on an engine that lets the attack through.
"""
