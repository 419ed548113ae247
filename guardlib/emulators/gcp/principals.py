"""Who a federated GCP token stands for: a workload identity pool's principal and the STS
access token issued to it. Shared by the STS handlers (federation.py) and the token book
(auth.py), which is why it is a module of its own."""

from __future__ import annotations

import dataclasses

IAM = "iam.googleapis.com"


@dataclasses.dataclass(frozen=True)
class Principal:
    """Who a federated token stands for."""

    pool_name: str
    subject: str
    attributes: tuple[tuple[str, str], ...]

    @property
    def member(self) -> str:
        return f"principal://{IAM}/{self.pool_name}/subject/{self.subject}"

    def matches(self, member: str) -> bool:
        if member == self.member:
            return True
        prefix = f"principalSet://{IAM}/{self.pool_name}/"
        if not member.startswith(prefix):
            return False
        rest = member[len(prefix) :]
        if rest == "*":
            return True
        name, _, value = rest.partition("/")
        if name.startswith("attribute.") and value:
            return (name[len("attribute.") :], value) in self.attributes
        return False


@dataclasses.dataclass(frozen=True)
class FederatedToken:
    principal: Principal
    expires: float


def principal_member(pool_name: str, subject: str) -> str:
    return f"principal://{IAM}/{pool_name}/subject/{subject}"
