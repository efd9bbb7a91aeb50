"""execd: runs the agent on the policy's schedule (cf-execd).

``daemon`` (the loop: schedule, queue, expiry, status file), ``schedule`` (when:
class expressions, splay), ``agentrun`` (one agent run: command, output file,
report), ``policycheck`` (the policy validated in a child process), ``control``
(the control socket unscheduled runs come through), ``watch`` (the inputs
directory watched for changes).
"""
