"""AWS IAM, stored and not enforced: roles, their inline and attached policies, managed policies.

``store.py`` is the account's IAM (one per account: IAM is global, not per Region); ``api.py`` is
the Query-protocol adapter. eventmesh never evaluates a policy: tools that create roles before
functions (Terraform, CDK, the AWS CLI) find them, and functions run whatever their role says.
"""
