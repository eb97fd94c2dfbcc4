"""Answer bodies of real Argo Servers (and of the login page a proxy shows instead), for client tests.

The Argo bodies are quoted verbatim from tests/fixtures/argo/modern/error-bodies-quoted.md.
"""

from __future__ import annotations

BODY_401 = (
    '{"code":16,"message":"token not valid. see '
    'https://argo-workflows.readthedocs.io/en/latest/faq/"}'
)
BODY_403 = (
    '{"code":7,"message":"workflows.argoproj.io is forbidden: User '
    '\\"system:serviceaccount:kubeflow-argo-workflows:argo-server-user-'
    "b36a83701f1c3191e19722d6f90274bc1b5501fe69ebf33313e440fe4b0fe210"
    '\\" cannot list resource \\"workflows\\" in API group \\"argoproj.io\\" at the cluster '
    'scope"}'
)
BODY_409 = (
    '{"code":6,"message":"Workflow already exists on cluster, use argo retry {name} instead"}'
)
LOGIN_PAGE = (
    "<!DOCTYPE html><html><head><title>Sign in</title></head>"
    "<body><form action='/oauth2/start'>Sign in with Keycloak</form></body></html>"
)
