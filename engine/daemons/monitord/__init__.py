"""monitord: samples the host for the agent (cf-monitord).

``daemon`` (the sampling loop), ``observables`` (what is sampled, the classes
derived, ``state/env_data``), ``measurements`` (the policy's ``measurements:``
promises, taken at each sample), ``policy`` (the monitor bundles read in a child
process) and ``policy_eval`` (what runs in that child: the evaluator).
"""
