"""Access restriction (control SEC-ACC-1): only named principals reach personal data.

"We strictly restrict the scope of personnel who can access information": no bucket, object or
resource policy opens data to everyone, identity policies name the stores they reach, and no role
can be assumed by anyone on the internet. Policy documents are read through
`policies.documents.parse_document`; IAM actions are expanded through `policies.iam`.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterator, Sequence
from typing import Any

from policies import managed_policies
from policies.documents import MalformedDocument, Statement, parse_document
from policies.iam import (
    DATA_SERVICES,
    data_plane_actions,
    data_plane_actions_of,
    grants_action,
    is_full_wildcard,
    is_service_wildcard,
    service_of,
    telling_first,
)
from policies.model import UNKNOWN, Resource, Severity
from policies.references import (
    AT_APPLY,
    PRINCIPALS,
    all_referenced,
    computed_from_resources,
    referenced,
    resolve_statements,
)
from policies.registry import Violation, rule, unknown
from policies.s3 import as_list, bucket_view
from policies.stack import Stack
from policies.tokens import (
    ELASTICSEARCH_DOMAIN,
    IAM_POLICY,
    IAM_POLICY_DOCUMENT_TYPES,
    IAM_ROLE,
    KMS_KEY,
    KMS_REPLICA_EXTERNAL_KEY,
    KMS_REPLICA_KEY,
    OPENSEARCH_DOMAIN,
    S3_BUCKET_TYPES,
    SECRET,
    SNS_TOPIC,
    SNS_TOPIC_POLICY,
    SQS_QUEUE,
    SQS_QUEUE_POLICY,
    side_types,
)

Problem = str | Violation

ACCOUNT_PUBLIC_ACCESS_BLOCK = "aws:s3/accountPublicAccessBlock:AccountPublicAccessBlock"
BUCKET_OBJECT_TYPES = frozenset({"aws:s3/bucketObject:BucketObject", "aws:s3/bucketObjectv2:BucketObjectv2"})
LAMBDA_PERMISSION = "aws:lambda/permission:Permission"
BUCKET_POLICY_TYPES = side_types("policy")

PUBLIC_ACCESS_BLOCK_SETTINGS = (
    "blockPublicAcls",
    "blockPublicPolicy",
    "ignorePublicAcls",
    "restrictPublicBuckets",
)
PUBLIC_CANNED_ACLS = frozenset({"public-read", "public-read-write", "authenticated-read"})
PUBLIC_GRANTEES = {
    "http://acs.amazonaws.com/groups/global/AllUsers": "everyone (AllUsers)",
    "http://acs.amazonaws.com/groups/global/AuthenticatedUsers": "every AWS account (AuthenticatedUsers)",
}

#: Where each resource type keeps its resource-based policy document.
RESOURCE_POLICY_PROPS: dict[str, str] = {
    **{t: "policy" for t in S3_BUCKET_TYPES},
    **{t: "policy" for t in BUCKET_POLICY_TYPES},
    SQS_QUEUE: "policy",
    SQS_QUEUE_POLICY: "policy",
    SNS_TOPIC: "policy",
    SNS_TOPIC_POLICY: "policy",
    KMS_KEY: "policy",
    KMS_REPLICA_KEY: "policy",
    KMS_REPLICA_EXTERNAL_KEY: "policy",
    "aws:kms/keyPolicy:KeyPolicy": "policy",
    SECRET: "policy",
    "aws:secretsmanager/secretPolicy:SecretPolicy": "policy",
    OPENSEARCH_DOMAIN: "accessPolicies",
    ELASTICSEARCH_DOMAIN: "accessPolicies",
    "aws:opensearch/domainPolicy:DomainPolicy": "accessPolicies",
    "aws:elasticsearch/domainPolicy:DomainPolicy": "accessPolicies",
    "aws:efs/fileSystemPolicy:FileSystemPolicy": "policy",
    "aws:backup/vaultPolicy:VaultPolicy": "policy",
    "aws:glacier/vault:Vault": "accessPolicy",
    "aws:ecr/repositoryPolicy:RepositoryPolicy": "policy",
    "aws:dynamodb/resourcePolicy:ResourcePolicy": "policy",
    "aws:kinesis/resourcePolicy:ResourcePolicy": "policy",
    "aws:cloudwatch/logResourcePolicy:LogResourcePolicy": "policyDocument",
}

#: Condition keys that limit a `"*"` principal to known callers or networks. kms:ViaService is
#: not here: on its own it admits any account that calls through that service.
RESOURCE_POLICY_RESTRICTING_KEYS = frozenset(
    k.lower()
    for k in (
        "aws:SourceArn",
        "aws:SourceAccount",
        "aws:SourceOwner",
        "aws:SourceOrgID",
        "aws:SourceOrgPaths",
        "aws:PrincipalOrgID",
        "aws:PrincipalOrgPaths",
        "aws:PrincipalAccount",
        "aws:PrincipalArn",
        "aws:userid",
        "aws:SourceVpc",
        "aws:SourceVpce",
        "aws:SourceIp",
        "kms:CallerAccount",
        "s3:DataAccessPointAccount",
    )
)

#: Condition keys that limit who may assume a role trusted to `"*"`.
TRUST_RESTRICTING_KEYS = frozenset(
    k.lower()
    for k in (
        "sts:ExternalId",
        "aws:PrincipalOrgID",
        "aws:PrincipalOrgPaths",
        "aws:PrincipalAccount",
        "aws:SourceAccount",
        "aws:SourceArn",
        "aws:PrincipalArn",
    )
)

#: Condition values that match every caller even though the key is present.
_OPEN_VALUES = frozenset({"0.0.0.0/0", "::/0"})

#: Only `:sub` names the workload of an OIDC token: GitHub Actions lets every workflow choose its own
#: audience, and EKS tokens all carry `sts.amazonaws.com`, so `:aud` restricts nothing, except for Cognito
#: identity pools, whose audience is the pool id.
_COGNITO_IDENTITY = "cognito-identity.amazonaws.com:"

ASSUME_ROLE_ACTIONS = ("sts:AssumeRole", "sts:AssumeRoleWithWebIdentity", "sts:AssumeRoleWithSAML")
WEB_IDENTITY = "sts:AssumeRoleWithWebIdentity"

IAM_POLICY_ATTACHMENT_TYPES = frozenset(
    {
        "aws:iam/rolePolicyAttachment:RolePolicyAttachment",
        "aws:iam/userPolicyAttachment:UserPolicyAttachment",
        "aws:iam/groupPolicyAttachment:GroupPolicyAttachment",
        "aws:iam/policyAttachment:PolicyAttachment",
    }
)
#: Resources that set a principal's whole list of attached managed policies (`policyArns`).
IAM_EXCLUSIVE_ATTACHMENT_TYPES = frozenset(
    {
        "aws:iam/rolePolicyAttachmentsExclusive:RolePolicyAttachmentsExclusive",
        "aws:iam/userPolicyAttachmentsExclusive:UserPolicyAttachmentsExclusive",
        "aws:iam/groupPolicyAttachmentsExclusive:GroupPolicyAttachmentsExclusive",
    }
)

_AWS_MANAGED_POLICY_ARN = re.compile(r"^arn:aws[a-z-]*:iam::aws:policy/(?:[^/]+/)*([^/]+)$")
_MAX_LISTED_ACTIONS = 5


# --- shared helpers --------------------------------------------------------------------------------


def _exempt(res: Resource, stack: Stack) -> bool:
    """Stores tagged with a non-personal category are outside the personal-data rules."""
    return not stack.holds_personal_data(res)


def _bucket_of(res: Resource, stack: Stack) -> Resource | None:
    """The bucket an object or side resource belongs to, by property dependency or name."""
    if res.owner is not None:
        return res.owner
    found = referenced(stack, res, "bucket", S3_BUCKET_TYPES)
    if found is not None:
        return found
    name = res.props.get("bucket")
    if isinstance(name, str) and name:
        return stack.memo("access.buckets_by_name", _index_buckets).get(name)
    return None


def _index_buckets(stack: Stack) -> dict[str, Resource]:
    """Buckets by name and id, built once per stack (a lookup per object stays O(1))."""
    index: dict[str, Resource] = {}
    for bucket in stack.of_type(*sorted(S3_BUCKET_TYPES)):
        for key in ("bucket", "id"):
            value = bucket.props.get(key)
            if isinstance(value, str) and value:
                index.setdefault(value, bucket)
    return index


def _sid(st: Statement) -> str:
    return f"statement {st.sid}" if st.sid.startswith("#") else f"statement '{st.sid}'"


def _listed(items: Sequence[str], limit: int = _MAX_LISTED_ACTIONS) -> str:
    shown = ", ".join(items[:limit])
    return f"{shown} and {len(items) - limit} more" if len(items) > limit else shown


def _positive_operator(op: str) -> bool:
    """Operators that admit only matching callers.

    Negated operators admit everyone else, `Null` only tests presence, `...IfExists` passes
    when the key is absent, and `ForAllValues:` passes vacuously on an absent key.
    """
    lowered = op.lower()
    return not (
        "not" in lowered
        or lowered.startswith("null")
        or lowered.endswith("ifexists")
        or lowered.startswith("forallvalues:")
    )


def _open_value(value: Any) -> bool:
    if not isinstance(value, str):
        return False
    text = value.strip()
    return text.strip("*?") == "" or text in _OPEN_VALUES


def _restricted_by(st: Statement, keys: frozenset[str]) -> Any:
    """True when a condition on one of `keys` limits the callers; UNKNOWN when it may."""
    maybe = False
    for op, block in st.condition.items():
        if not _positive_operator(op):
            continue
        for key, values in block.items():
            if key.lower() not in keys or not values:
                continue
            if any(v is UNKNOWN for v in values):
                maybe = True
            elif not _admits_everyone(op, key, values):
                return True
    return UNKNOWN if maybe else False


def _admits_everyone(op: str, key: str, values: list[Any]) -> bool:
    """Whether a condition that names callers still admits every caller: a wildcard value, address ranges
    that add up to the whole internet (`0.0.0.0/1` + `128.0.0.0/1`), or an ARN pattern whose account is a
    wildcard (`arn:aws-cn:iam::*:role/admin` matches that role in every account)."""
    if any(_open_value(v) for v in values):
        return True
    lowered = key.lower()
    if lowered == "aws:sourceip":
        return _whole_address_space(values)
    wildcards = "like" in op.lower() or op.lower().startswith(("arn", "forallvalues:arn", "foranyvalue:arn"))
    if not wildcards:
        return False
    if lowered in ("aws:principalarn", "aws:sourcearn"):
        return any(_wildcard_account(v) for v in values)
    if lowered in ("aws:principalorgid", "aws:sourceorgid", "aws:principalaccount", "aws:sourceaccount"):
        return any(isinstance(v, str) and len(v.strip().rstrip("*?")) <= 2 for v in values)
    return False


def _whole_address_space(values: list[Any]) -> bool:
    import ipaddress

    v4: list[Any] = []
    v6: list[Any] = []
    for value in values:
        try:
            network = ipaddress.ip_network(str(value).strip(), strict=False)
        except ValueError:
            continue
        (v4 if network.version == 4 else v6).append(network)
    return any(
        any(n.prefixlen == 0 for n in ipaddress.collapse_addresses(group)) for group in (v4, v6) if group
    )


def _wildcard_account(value: Any) -> bool:
    if not isinstance(value, str):
        return False
    parts = value.strip().split(":")
    if len(parts) < 6:
        return "*" in value
    return any(c in parts[4] for c in "*?")


def _everyone_principal(st: Statement) -> Any:
    """How the statement names everyone ('"*"', '{"AWS": "*"}'), None, or UNKNOWN."""
    principal = st.principal
    if principal is UNKNOWN:
        return UNKNOWN
    if isinstance(principal, str):
        return '"*"' if principal.strip() == "*" else None
    if isinstance(principal, dict):
        maybe = False
        for kind, value in principal.items():
            for item in as_list(value):
                if item is UNKNOWN:
                    maybe = True
                elif isinstance(item, str) and item.strip() == "*":
                    return f'{{"{kind}": "*"}}'
        return UNKNOWN if maybe else None
    return None


def _may_allow(st: Statement) -> Any:
    """True for Allow, UNKNOWN when the effect is not known until apply, else False."""
    if st.effect == "Allow":
        return True
    if st.effect == "" and st.has_unknown:
        return UNKNOWN
    return False


def _actions_text(st: Statement) -> str:
    actions = [a for a in st.actions if isinstance(a, str)]
    return _listed(actions, 3) if actions else "act"


# --- ACC-001 ---------------------------------------------------------------------------------------


def _account_public_access_block(stack: Stack) -> dict[str, Any]:
    """Each account-level setting: True if any block turns it on, UNKNOWN if one may, else False."""
    out: dict[str, Any] = {}
    blocks = stack.of_type(ACCOUNT_PUBLIC_ACCESS_BLOCK)
    for key in PUBLIC_ACCESS_BLOCK_SETTINGS:
        values = [b.props.get(key) for b in blocks]
        if any(v is True for v in values):
            out[key] = True
        elif any(v is UNKNOWN for v in values):
            out[key] = UNKNOWN
        else:
            out[key] = False
    return out


@rule(
    id="ACC-001",
    title="S3 buckets block all public access",
    severity=Severity.CRITICAL,
    types=S3_BUCKET_TYPES,
    remediation=(
        "Add a BucketPublicAccessBlock for the bucket (or an account-level AccountPublicAccessBlock) "
        "with blockPublicAcls, blockPublicPolicy, ignorePublicAcls and restrictPublicBuckets all true."
    ),
)
def bucket_blocks_public_access(res: Resource, stack: Stack) -> Iterator[Problem]:
    """Every bucket holding personal data has all four S3 public access block settings on.

    A setting is on when the bucket's own block or an AccountPublicAccessBlock in the stack turns
    it on (S3 applies whichever is stricter). Buckets tagged with a non-personal category are exempt.
    """
    if _exempt(res, stack):
        return
    own = bucket_view(res).public_access_block
    account = _account_public_access_block(stack)
    off: list[str] = []
    pending: list[str] = []
    for key in PUBLIC_ACCESS_BLOCK_SETTINGS:
        values = ((own or {}).get(key), account[key])
        if any(v is True for v in values):
            continue
        (pending if any(v is UNKNOWN for v in values) else off).append(key)
    if own is None and len(off) == len(PUBLIC_ACCESS_BLOCK_SETTINGS):
        yield (
            f"{res.label} has no public access block, so a bucket policy or ACL can expose its data to "
            "everyone; add a BucketPublicAccessBlock with all four settings true"
        )
    elif off:
        verb = "is" if len(off) == 1 else "are"
        yield (
            f"{res.label} does not block all public access: {', '.join(off)} {verb} not true; "
            "set all four settings of its BucketPublicAccessBlock to true"
        )
    elif pending:
        yield unknown(
            f"{res.label}: public access block setting {', '.join(pending)} is not known until apply; "
            "set all four settings to literal true so the block can be verified"
        )


# --- ACC-002 ---------------------------------------------------------------------------------------


def _bucket_acl_problems(res: Resource) -> Iterator[Problem]:
    view = bucket_view(res)
    if view.acl is UNKNOWN:
        yield unknown(
            f"{res.label}: ACL is not known until apply; use a literal canned ACL such as 'private'"
        )
    elif isinstance(view.acl, str) and view.acl in PUBLIC_CANNED_ACLS:
        yield (
            f"{res.label} has the public canned ACL '{view.acl}'; use 'private' (or no ACL) and "
            "grant access through named principals"
        )
    # bucket_view drops grant lists that are unknown as a whole: look at the raw values too.
    raw_unknown = res.props.get("grants") is UNKNOWN or any(
        side.props.get("accessControlPolicy") is UNKNOWN for side in res.side.get("acl", ())
    )
    if raw_unknown:
        yield unknown(f"{res.label}: ACL grants are not known until apply, so they may include everyone")
    for grant in view.grants:
        uri = grant.get("uri")
        if uri is UNKNOWN:
            yield unknown(f"{res.label} has an ACL grant whose grantee is not known until apply")
        elif isinstance(uri, str) and uri.strip() in PUBLIC_GRANTEES:
            permissions = [p for p in as_list(grant.get("permissions")) if isinstance(p, str)]
            what = "/".join(permissions) or "access"
            yield (
                f"{res.label} grants {what} to {PUBLIC_GRANTEES[uri.strip()]} in its ACL; remove the "
                "grant and give access to named principals instead"
            )


@rule(
    id="ACC-002",
    title="No public ACLs",
    severity=Severity.CRITICAL,
    types=S3_BUCKET_TYPES | BUCKET_OBJECT_TYPES,
    remediation=(
        "Use the 'private' canned ACL (or none, with BucketOwnerEnforced ownership) and remove grants to "
        "the AllUsers and AuthenticatedUsers groups."
    ),
)
def no_public_acls(res: Resource, stack: Stack) -> Iterator[Problem]:
    """No bucket or object ACL opens data to everyone or to every AWS account."""
    if res.type in S3_BUCKET_TYPES:
        if not _exempt(res, stack):
            yield from _bucket_acl_problems(res)
        return
    bucket = _bucket_of(res, stack)
    if bucket is not None and _exempt(bucket, stack):
        return
    acl = res.props.get("acl")
    if acl is UNKNOWN:
        yield unknown(
            f"{res.label}: ACL is not known until apply; use a literal canned ACL such as 'private'"
        )
    elif isinstance(acl, str) and acl in PUBLIC_CANNED_ACLS:
        yield f"{res.label} has the public canned ACL '{acl}'; set acl to 'private' or leave it unset"


# --- ACC-003 ---------------------------------------------------------------------------------------


def _public_statement_problems(
    where: str, st: Statement, keys: frozenset[str], fix: str
) -> Iterator[Problem]:
    """Problems of one statement that may grant everyone access (shared by ACC-003 and ACC-005)."""
    allows = _may_allow(st)
    if allows is False:
        return
    if st.not_principal is not None:
        if allows is True:
            yield (
                f"{where} {_sid(st)} allows everyone except its NotPrincipal; "
                "name the allowed principals in Principal instead"
            )
        else:
            yield unknown(f"{where} {_sid(st)} has NotPrincipal and an effect not known until apply")
        return
    everyone = _everyone_principal(st)
    if everyone is None:
        return
    if everyone is UNKNOWN:
        yield unknown(f"{where} {_sid(st)} has a principal not known until apply, so it may be everyone")
        return
    restricted = _restricted_by(st, keys)
    if restricted is True:
        return
    if restricted is UNKNOWN or allows is UNKNOWN or st.has_unknown:
        yield unknown(
            f"{where} {_sid(st)} allows {everyone} and part of the statement is not known until apply, "
            "so it cannot be shown to limit who"
        )
        return
    yield f"{where} {_sid(st)} allows {everyone} to {_actions_text(st)} without a condition that limits who; {fix}"


def _lambda_permission_problems(res: Resource, stack: Stack) -> Iterator[Problem]:
    principal = res.props.get("principal")
    if principal is UNKNOWN:
        if referenced(stack, res, "principal", PRINCIPALS) is not None:
            # `principal: role.arn`: a role or user of this stack, not everyone.
            return
        yield unknown(
            f"{res.label}: principal is not known until apply, so it may be everyone ('*'): it does not come "
            f"from exactly one role or user of this stack; {AT_APPLY}"
        )
        return
    if not isinstance(principal, str):
        return
    everyone = principal.strip() == "*"
    # A service principal (apigateway.amazonaws.com) with no source lets that service invoke the function
    # for any resource of any account: another account's API can call it (the confused deputy).
    service = principal.strip().endswith((".amazonaws.com", ".amazonaws.com.cn"))
    if not (everyone or service):
        return
    maybe = False
    for key in ("sourceArn", "sourceAccount", "principalOrgId"):
        value = res.props.get(key)
        if value is UNKNOWN:
            # A value wired from another resource's output is that resource's ARN or account.
            if computed_from_resources(res, key):
                return
            maybe = True
        elif isinstance(value, str) and value.strip() and not _open_value(value):
            return
    action = res.props.get("action")
    action_text = f"call {action}" if isinstance(action, str) else "invoke the function"
    who = "everyone ('*')" if everyone else f"{principal.strip()} acting for any resource of any account"
    if maybe:
        yield unknown(
            f"{res.label} lets {who} {action_text} and its sourceArn/sourceAccount/principalOrgId "
            "is not known until apply"
        )
        return
    fix = (
        "set one of them or name the calling principal"
        if everyone
        else "set sourceArn to the ARN of the calling resource (for API Gateway its execution ARN, "
        f"arn:{stack.settings.partition}:execute-api:<region>:<account>:<api id>/*)"
    )
    yield f"{res.label} lets {who} {action_text} with no sourceArn, sourceAccount or principalOrgId; {fix}"


@rule(
    id="ACC-003",
    title="Resource policies do not grant access to everyone",
    severity=Severity.CRITICAL,
    types=frozenset(RESOURCE_POLICY_PROPS) | {LAMBDA_PERMISSION},
    remediation=(
        "Name the principals (account, role or service ARNs) that need access, or add a condition on "
        "aws:SourceArn, aws:SourceAccount or aws:PrincipalOrgID to every Allow statement with Principal '*'."
    ),
)
def resource_policy_not_public(res: Resource, stack: Stack) -> Iterator[Problem]:
    """No resource policy allows `"*"` (or uses NotPrincipal) without a condition limiting the callers.

    Deny statements with `"*"` are fine: they are how TLS-only access is enforced. Policies of
    buckets tagged with a non-personal category are exempt.
    """
    if res.type == LAMBDA_PERMISSION:
        yield from _lambda_permission_problems(res, stack)
        return
    subject = _bucket_of(res, stack) if res.type in BUCKET_POLICY_TYPES else res
    if subject is not None and _exempt(subject, stack):
        return
    prop = RESOURCE_POLICY_PROPS[res.type]
    doc = resolve_statements(stack, res, prop, parse_document(res.props.get(prop)))
    if doc is UNKNOWN:
        yield unknown(
            f"{res.label}: {prop} is not known until apply, so it cannot be shown to keep everyone out here; "
            f"{AT_APPLY}, or build the document from known values"
        )
        return
    if isinstance(doc, MalformedDocument):
        yield f"{res.label}: {prop} is not a valid policy document ({doc.reason}); fix the JSON"
        return
    fix = "name the principals or add an aws:SourceArn, aws:SourceAccount or aws:PrincipalOrgID condition"
    for st in doc:
        yield from _public_statement_problems(
            f"{res.label}: {prop}", st, RESOURCE_POLICY_RESTRICTING_KEYS, fix
        )


# --- ACC-004 ---------------------------------------------------------------------------------------


def _every_resource(value: Any) -> bool:
    """`*`, or an ARN with wildcards where the name goes: `arn:aws-cn:s3:::*`, `arn:aws-cn:dynamodb:*:*:table/*`,
    `arn:aws-cn:iam::123456789012:role/*` (see `policies.managed_policies.every_resource`)."""
    return managed_policies.every_resource(value)


def _unscoped(st: Statement) -> Any:
    """True when the statement applies to every resource; UNKNOWN when it may."""
    if st.not_resources:
        return True
    if any(_every_resource(r) for r in st.resources):
        return True
    if any(r is UNKNOWN for r in st.resources):
        return UNKNOWN
    return False


def _resource_text(st: Statement) -> str:
    if st.not_resources:
        return "every resource but its NotResource"
    wildcard = next((r for r in st.resources if _every_resource(r)), "*")
    return f'every resource ("{wildcard}")'


@functools.lru_cache(maxsize=4096)
def _data_actions_text(written: tuple[str, ...], data: tuple[str, ...]) -> str:
    """The patterns as written; for wildcards, how many data actions they grant and telling examples."""
    patterns = [a for a in written if data_plane_actions_of(a)]
    if not any("*" in p or "?" in p for p in patterns):
        return _listed(data)
    examples = telling_first(data)
    return (
        f"{_listed(patterns)} ({len(data)} data action{'s' if len(data) != 1 else ''}, such as "
        f"{', '.join(examples[:_MAX_LISTED_ACTIONS])})"
    )


def _identity_statement_problems(where: str, st: Statement) -> Iterator[Problem]:
    allows = _may_allow(st)
    if allows is False:
        return
    if allows is UNKNOWN:
        yield unknown(f"{where} {_sid(st)} has an effect not known until apply")
        return
    label = f"{where} {_sid(st)}"
    if st.not_actions:
        yield (
            f"{label} allows every action except {_listed([str(a) for a in st.not_actions])} (NotAction with "
            "Allow); list the actions the principal needs in Action instead"
        )
        return
    if any(a is UNKNOWN for a in st.actions):
        yield unknown(f"{label} has actions not known until apply")
        return
    if any(is_full_wildcard(a) for a in st.actions):
        yield f'{label} allows every action ("*"); list the actions the principal needs'
        return
    service_wide = [a for a in st.actions if is_service_wildcard(a) and service_of(a) in DATA_SERVICES]
    if service_wide:
        yield (
            f"{label} allows every action of the data service{'s' if len(service_wide) > 1 else ''} "
            f"{_listed(service_wide)}; grant only the actions the principal needs"
        )
    rest = [a for a in st.actions if a not in service_wide]
    data = data_plane_actions(rest)
    passes_roles = grants_action(rest, "iam:PassRole")
    invokes = grants_action(rest, "lambda:InvokeFunction")
    if not data and not passes_roles and not invokes:
        return
    unscoped = _unscoped(st)
    if unscoped is UNKNOWN:
        yield unknown(f"{label} grants data or iam:PassRole actions on resources not known until apply")
        return
    if not unscoped:
        return
    if data:
        yield (
            f"{label} allows {_data_actions_text(tuple(a for a in rest if isinstance(a, str)), tuple(data))} on {_resource_text(st)}; scope Resource to the "
            "ARNs of the stores the principal needs"
        )
    if passes_roles:
        yield (
            f"{label} allows iam:PassRole on {_resource_text(st)}, so the principal can hand any role to a "
            "service; scope Resource to the ARNs of the roles it may pass"
        )
    if invokes:
        yield (
            f"{label} allows lambda:InvokeFunction on {_resource_text(st)}, so the principal can run every function, "
            "each with its own role's access to data; scope Resource to the ARNs of the functions it calls"
        )


def _document_problems(where: str, raw: Any, res: Resource, prop: str, stack: Stack) -> Iterator[Problem]:
    doc = resolve_statements(stack, res, prop, parse_document(raw))
    if doc is UNKNOWN:
        yield unknown(
            f"{where} is not known until apply, so it cannot be checked for least privilege here; "
            f"{AT_APPLY}, or build the document from known values"
        )
        return
    if isinstance(doc, MalformedDocument):
        yield f"{where} is not a valid policy document ({doc.reason}); fix the JSON"
        return
    for st in doc:
        yield from _identity_statement_problems(where, st)


def _managed_policy_name(arn: Any) -> str | None:
    if not isinstance(arn, str):
        return None
    match = _AWS_MANAGED_POLICY_ARN.match(arn.strip())
    return match.group(1) if match else None


def _managed_policy_problems(res: Resource, arn: Any, stack: Stack) -> Iterator[Problem]:
    """An AWS managed policy judged by what it grants on every resource (`policies.managed_policies`)."""
    name = _managed_policy_name(arn)
    if name is None:
        yield from _customer_policy_problems(res, arn, stack)
        return
    fix = (
        "attach a customer-managed policy that lists the actions the principal needs on the ARNs of the stores "
        f"it uses (arn:{stack.settings.partition}:...)"
    )
    verdict = managed_policies.judge(name)
    if verdict is None:
        yield unknown(
            f"{res.label} attaches the AWS managed policy {name}, which is not in {managed_policies.data_source()}, "
            f"so what it grants cannot be checked; {fix}"
        )
    elif verdict.broad:
        yield (
            f"{res.label} attaches the AWS managed policy {name}, which on every resource "
            f"{'; '.join(verdict.reasons)} (judged from {managed_policies.data_source()}); {fix}"
        )


def _customer_policies(stack: Stack) -> tuple[set[str], set[str]]:
    """The ARNs and names of the IAM policies this stack declares (each is judged on its own)."""
    arns: set[str] = set()
    names: set[str] = set()
    for policy in stack.of_type(IAM_POLICY):
        arn, name = policy.props.get("arn"), policy.props.get("name")
        if isinstance(arn, str):
            arns.add(arn)
        if isinstance(name, str):
            names.add(name)
    return arns, names


def _customer_policy_problems(res: Resource, arn: Any, stack: Stack) -> Iterator[Problem]:
    """A policy ARN that is not AWS managed: judged where the stack declares it, else it cannot be."""
    if not isinstance(arn, str) or not arn.strip():
        return
    arns, names = stack.memo("access.customer_policies", _customer_policies)
    text = arn.strip()
    if text in arns or text.rsplit("/", 1)[-1] in names:
        return
    yield unknown(
        f"{res.label} attaches {text}, a policy this stack does not declare, so what it grants cannot be checked "
        "here; declare the policy in this program (aws.iam.Policy) or check the stack that owns it, and attach "
        "it by reference (policy.arn)"
    )


def _policies_in_stack(res: Resource, prop: str, stack: Stack) -> bool:
    """An unknown ARN wired from IAM policies of this stack: those are checked on their own."""
    return all_referenced(stack, res, prop, (IAM_POLICY,)) is not None


def _attachment_problems(res: Resource, stack: Stack) -> Iterator[Problem]:
    arn = res.props.get("policyArn")
    if arn is UNKNOWN:
        if not _policies_in_stack(res, "policyArn", stack):
            yield unknown(
                f"{res.label}: policyArn is not known until apply, so the attached policy cannot be checked"
            )
        return
    yield from _managed_policy_problems(res, arn, stack)


def _role_problems(res: Resource, stack: Stack) -> Iterator[Problem]:
    arns = res.props.get("managedPolicyArns")
    if arns is UNKNOWN or any(a is UNKNOWN for a in as_list(arns)):
        if not _policies_in_stack(res, "managedPolicyArns", stack):
            yield unknown(
                f"{res.label}: managedPolicyArns are not known until apply, so they cannot be checked"
            )
    for arn in as_list(arns):
        yield from _managed_policy_problems(res, arn, stack)
    inline = res.props.get("inlinePolicies")
    if inline is UNKNOWN:
        yield unknown(f"{res.label}: inlinePolicies are not known until apply, so they cannot be checked")
        return
    for i, entry in enumerate(as_list(inline)):
        if not isinstance(entry, dict):
            yield unknown(f"{res.label}: inline policy #{i} is not known until apply")
            continue
        name = entry.get("name")
        where = (
            f"{res.label}: inline policy '{name}'"
            if isinstance(name, str) and name
            else f"{res.label}: inline policy #{i}"
        )
        yield from _document_problems(where, entry.get("policy"), res, "inlinePolicies", stack)


@rule(
    id="ACC-004",
    title="IAM policies grant least privilege",
    severity=Severity.HIGH,
    types=IAM_POLICY_DOCUMENT_TYPES
    | IAM_POLICY_ATTACHMENT_TYPES
    | IAM_EXCLUSIVE_ATTACHMENT_TYPES
    | {IAM_ROLE},
    remediation=(
        "List the actions the principal needs and scope Resource to the ARNs of the data stores and roles "
        "it uses; replace broad AWS managed policies with customer-managed ones."
    ),
)
def iam_least_privilege(res: Resource, stack: Stack) -> Iterator[Problem]:
    """Identity policies name their actions and the data stores they reach.

    Per Allow statement: no `"*"` action, no NotAction, no `service:*` on a data service, no
    data-plane action (after wildcard expansion) or iam:PassRole on every resource. Attachments and
    a role's managedPolicyArns must not name broad AWS managed policies.
    """
    if res.type in IAM_POLICY_ATTACHMENT_TYPES:
        yield from _attachment_problems(res, stack)
    elif res.type in IAM_EXCLUSIVE_ATTACHMENT_TYPES:
        arns = res.props.get("policyArns")
        if arns is UNKNOWN or any(a is UNKNOWN for a in as_list(arns)):
            if not _policies_in_stack(res, "policyArns", stack):
                yield unknown(f"{res.label}: policyArns are not known until apply, so they cannot be checked")
        for arn in as_list(arns):
            yield from _managed_policy_problems(res, arn, stack)
    elif res.type == IAM_ROLE:
        yield from _role_problems(res, stack)
    else:
        yield from _document_problems(f"{res.label}: policy", res.props.get("policy"), res, "policy", stack)


# --- ACC-005 ---------------------------------------------------------------------------------------


def _assumable_actions(st: Statement) -> Any:
    """The sts:AssumeRole* actions the statement covers; UNKNOWN when its actions are unknown."""
    if st.not_actions:
        return [a for a in ASSUME_ROLE_ACTIONS if not grants_action(st.not_actions, a)]
    if any(a is UNKNOWN for a in st.actions):
        return UNKNOWN
    return [a for a in ASSUME_ROLE_ACTIONS if grants_action(st.actions, a)]


def _web_identity_restricted(st: Statement) -> Any:
    """True when a `:sub` condition (or a non-default `:aud`) names who may use the token."""
    maybe = False
    for op, block in st.condition.items():
        if not _positive_operator(op):
            continue
        for key, values in block.items():
            lowered = key.lower()
            if not (lowered.endswith(":sub") or lowered.endswith(":aud")) or not values:
                continue
            if any(v is UNKNOWN for v in values):
                maybe = True
                continue
            if lowered.endswith(":sub"):
                # GitHub subjects read "repo:ORG/REPO:..."; "repo:*" admits every repository.
                texts = [v.removeprefix("repo:") if isinstance(v, str) else v for v in values]
                if not any(_open_value(v) for v in texts):
                    return True
            elif lowered.startswith(_COGNITO_IDENTITY) and not any(_open_value(v) for v in values):
                # A Cognito identity pool's audience is the pool id: it names who may use the token.
                return True
    return UNKNOWN if maybe else False


_ACCOUNT_ID = re.compile(r"^\d{12}$")
_ARN_ACCOUNT = re.compile(r"^arn:[^:]+:[^:]+:[^:]*:(\d{12}):")


def own_accounts(stack: Stack) -> frozenset[str]:
    """The stack's own AWS accounts: `aws:allowedAccountIds` from the stack config, and the account in the
    ARN of every resource of the stack (a stack export or a deployed state carries them)."""
    return stack.memo("access.own_accounts", _collect_accounts)


def _collect_accounts(stack: Stack) -> frozenset[str]:
    import json

    found: set[str] = set()
    allowed = stack.config.get("aws:allowedAccountIds")
    if isinstance(allowed, str):
        try:
            allowed = json.loads(allowed)
        except ValueError:
            allowed = [allowed]
    for value in as_list(allowed):
        if isinstance(value, str | int) and _ACCOUNT_ID.match(str(value).strip()):
            found.add(str(value).strip())
    for other in stack.resources:
        arn = other.props.get("arn")
        if isinstance(arn, str):
            match = _ARN_ACCOUNT.match(arn)
            if match:
                found.add(match.group(1))
    return frozenset(found)


def _principal_account(value: Any) -> str | None:
    """The account an AWS principal entry names: `123456789012`, `arn:aws-cn:iam::123456789012:root` or a
    role/user ARN of that account; None for a service, a resolved role of this stack or a wildcard."""
    if not isinstance(value, str):
        return None
    text = value.strip()
    if _ACCOUNT_ID.match(text):
        return text
    match = _ARN_ACCOUNT.match(text)
    return match.group(1) if match else None


def _external_id_required(st: Statement) -> Any:
    maybe = False
    for op, block in st.condition.items():
        if not _positive_operator(op):
            continue
        for key, values in block.items():
            if key.lower() != "sts:externalid" or not values:
                continue
            if any(v is UNKNOWN for v in values):
                maybe = True
            elif not any(_open_value(v) for v in values):
                return True
    return UNKNOWN if maybe else False


def _foreign_account_problems(where: str, st: Statement, stack: Stack) -> Iterator[Problem]:
    """A role another account can assume needs sts:ExternalId: without it, any principal of that account
    that the account lets assume roles (a vendor's service acting for any of its customers: the confused
    deputy) reaches what the role reaches."""
    if _may_allow(st) is not True or not isinstance(st.principal, dict):
        return
    accounts = sorted({a for a in map(_principal_account, st.principals("AWS")) if a is not None})
    if not accounts:
        return
    required = _external_id_required(st)
    if required is True:
        return
    own = own_accounts(stack)
    foreign = [a for a in accounts if a not in own]
    if not foreign:
        return
    fix = (
        "add Condition {StringEquals: {'sts:ExternalId': '<id agreed with that account>'}}, or trust only "
        "this stack's account"
    )
    if required is UNKNOWN:
        yield unknown(
            f"{where} {_sid(st)} trusts account {', '.join(foreign)} with an sts:ExternalId not known until apply"
        )
    elif not own:
        yield unknown(
            f"{where} {_sid(st)} trusts account {', '.join(foreign)} without an sts:ExternalId condition, and this "
            "stack's own account is not known here (set aws:allowedAccountIds in the stack config), so whether it "
            f"is another account cannot be told; {fix}"
        )
    else:
        yield (
            f"{where} {_sid(st)} lets account {', '.join(foreign)}, which is not this stack's account "
            f"({', '.join(sorted(own))}), assume the role without an sts:ExternalId condition; {fix}"
        )


def _trust_statement_problems(res: Resource, st: Statement, stack: Stack) -> Iterator[Problem]:
    assumable = _assumable_actions(st)
    where = f"{res.label}: assumeRolePolicy"
    if assumable is UNKNOWN:
        if _may_allow(st) is not False and _everyone_principal(st) is not None:
            yield unknown(f"{where} {_sid(st)} has actions not known until apply")
        return
    if not assumable:
        return
    fix = "name the trusted accounts or roles, or add an sts:ExternalId or aws:PrincipalOrgID condition"
    yield from _public_statement_problems(where, st, TRUST_RESTRICTING_KEYS, fix)
    if "sts:AssumeRole" in assumable:
        yield from _foreign_account_problems(where, st, stack)
    if WEB_IDENTITY not in assumable or _may_allow(st) is False:
        return
    # principals("Federated") answers ["*"] for Principal "*", which the statement check above covers.
    federated = st.principals("Federated") if isinstance(st.principal, dict) else []
    if not federated:
        return
    restricted = _web_identity_restricted(st)
    if restricted is True:
        return
    providers = ", ".join(p if isinstance(p, str) else "<unknown>" for p in federated)
    if restricted is UNKNOWN or _may_allow(st) is UNKNOWN:
        yield unknown(f"{where} {_sid(st)} trusts {providers} with a condition not known until apply")
        return
    yield (
        f"{where} {_sid(st)} lets any identity of {providers} assume the role: there is no ':sub' condition "
        "naming the workload (for GitHub, 'repo:ORG/REPO:...'); add one"
    )


@rule(
    id="ACC-005",
    title="Role trust policies do not trust everyone",
    severity=Severity.CRITICAL,
    types={IAM_ROLE},
    remediation=(
        "Trust named accounts, roles or services; add sts:ExternalId or aws:PrincipalOrgID conditions to "
        "cross-account trusts, and a ':sub' condition to web-identity (OIDC) trusts."
    ),
)
def role_trust_not_public(res: Resource, stack: Stack) -> Iterator[Problem]:
    """No role can be assumed by everyone, nor by any identity of a web-identity provider."""
    doc = resolve_statements(
        stack, res, "assumeRolePolicy", parse_document(res.props.get("assumeRolePolicy"))
    )
    if doc is UNKNOWN:
        yield unknown(
            f"{res.label}: assumeRolePolicy is not known until apply, so it cannot be shown to trust only "
            f"named principals here; {AT_APPLY}, or build the document from known values"
        )
        return
    if isinstance(doc, MalformedDocument):
        yield f"{res.label}: assumeRolePolicy is not a valid policy document ({doc.reason}); fix the JSON"
        return
    for st in doc:
        yield from _trust_statement_problems(res, st, stack)


# --- ACC-006 ---------------------------------------------------------------------------------------

APPSYNC_API = "aws:appsync/graphQLApi:GraphQLApi"
APPSYNC_DATA_SOURCE = "aws:appsync/dataSource:DataSource"


def _appsync_data_sources(stack: Stack) -> dict[str, list[Resource]]:
    """API (URN or id) -> its data sources in this stack, built once per stack."""
    index: dict[str, list[Resource]] = {}
    for source in stack.of_type(APPSYNC_DATA_SOURCE):
        keys = set(source.property_dependencies.get("apiId", ()))
        api_id = source.props.get("apiId")
        if isinstance(api_id, str) and api_id:
            keys.add(api_id)
        for key in keys:
            index.setdefault(key, []).append(source)
    return index


def _tables_by_name(stack: Stack) -> dict[str, Resource]:
    index: dict[str, Resource] = {}
    for table in stack.of_type("aws:dynamodb/table:Table"):
        for key in ("name", "id"):
            value = table.props.get(key)
            if isinstance(value, str) and value:
                index.setdefault(value, table)
    return index


def _fronts_personal_data(api: Resource, stack: Stack) -> bool:
    """An API fronts personal data unless it is classified non-personal, or every data source it has in this
    stack is a DynamoDB table classified non-personal (fail safe: no data source in the stack is personal)."""
    if not stack.holds_personal_data(api):
        return False
    index = stack.memo("access.appsync_sources", _appsync_data_sources)
    sources: dict[str, Resource] = {}
    for key in (api.urn, api.props.get("id")):
        for source in index.get(key, ()) if isinstance(key, str) else ():
            sources[source.urn] = source
    if not sources:
        return True
    tables = stack.memo("access.tables_by_name", _tables_by_name)
    for source in sources.values():
        config = source.props.get("dynamodbConfig")
        config = config[0] if isinstance(config, list) and config else config
        name = config.get("tableName") if isinstance(config, dict) else None
        table = referenced(stack, source, "dynamodbConfig", ("aws:dynamodb/table:Table",))
        if table is None and isinstance(name, str):
            table = tables.get(name)
        if table is None or stack.holds_personal_data(table):
            return True
    return False


@rule(
    id="ACC-006",
    title="APIs in front of personal data do not accept API keys alone",
    severity=Severity.HIGH,
    types={APPSYNC_API},
    remediation=(
        "Use AMAZON_COGNITO_USER_POOLS, AWS_IAM, OPENID_CONNECT or AWS_LAMBDA authentication on AppSync APIs that "
        "reach personal data, as the default and in additionalAuthenticationProviders."
    ),
)
def appsync_not_api_key(res: Resource, stack: Stack) -> Iterator[Problem]:
    """An API key is a shared secret shipped in every client: it names no person, so whoever holds it reads
    every record the API serves."""
    if not _fronts_personal_data(res, stack):
        return
    modes: list[tuple[str, Any]] = [("authenticationType", res.props.get("authenticationType"))]
    extra = res.props.get("additionalAuthenticationProviders")
    if extra is UNKNOWN:
        modes.append(("additionalAuthenticationProviders", UNKNOWN))
    else:
        for i, provider in enumerate(as_list(extra)):
            value = provider.get("authenticationType") if isinstance(provider, dict) else provider
            modes.append((f"additionalAuthenticationProviders[{i}].authenticationType", value))
    for prop, value in modes:
        if value is UNKNOWN:
            yield unknown(
                f"{res.label}: {prop} is not known until apply, so it may accept API keys; set it explicitly"
            )
        elif value == "API_KEY":
            yield (
                f"{res.label} fronts personal data and its {prop} is 'API_KEY': anyone holding the key (shipped in "
                "every client) reads what the API serves; use 'AMAZON_COGNITO_USER_POOLS' or 'AWS_IAM'"
            )
