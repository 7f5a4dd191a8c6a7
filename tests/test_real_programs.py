"""Real programs, written by others, checked with `residency check --program` in cn-north-1.

Each program of ../shared/fixtures/pulumi-programs (public pulumi/examples; read from there, never
copied) runs under the mock runtime with `aws:region: cn-north-1`. Its verdicts were judged by hand
from the program's source, resource by resource:

- `finds`: (rule, resource name) that must be found: true positives;
- `clean`: resources on which no rule may fire: any finding there is a false positive;
- `not_found`: (rule, resource name) that must not fire where other rules rightly do;
- `not_evaluated`: resources the engine must name as not evaluated (dynamic providers, packages
  with no territory);
- `gaps`: true positives no rule finds yet. They show as XFAIL; once a rule finds one the test
  passes (XPASS): move the pair to `finds`.

Everywhere: no rule crashed, and RES-001/RES-002/RES-005 never fire (every program was pointed at
cn-north-1). When you add a rule, run this file and add what it finds to `finds` (or fix the rule).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import pytest
from honesty import no_crash
from program_checks import check_program, program_dir

from policies.errors import InputError

#: Rules that can only fire here on a false positive: every program deploys to cn-north-1.
NEVER = frozenset({"RES-001", "RES-002", "RES-005"})
REGION = "aws:region=cn-north-1"


@dataclass(frozen=True)
class Expect:
    config: tuple[str, ...] = ()
    finds: frozenset[tuple[str, str]] = frozenset()
    clean: frozenset[str] = frozenset()
    not_found: frozenset[tuple[str, str]] = frozenset()
    not_evaluated: frozenset[str] = frozenset()
    gaps: frozenset[tuple[str, str]] = frozenset()
    #: Fragments of notices the run must give (remote components, unanswered data sources).
    notices: tuple[str, ...] = ()
    why: dict[str, str] = field(default_factory=dict)


def pairs(*items: str) -> frozenset[tuple[str, str]]:
    """`pairs("ENC-002 counterTable", ...)`: (rule, resource name) pairs."""
    return frozenset(tuple(item.split(" ", 1)) for item in items)  # type: ignore[misc]


EXPECTED: dict[str, Expect] = {
    "aws-py-apigateway-lambda-serverless": Expect(
        finds=pairs(
            "ACC-004 lambdaRolePolicy",  # logs actions on arn:aws:logs:*:*:* (every log group)
            "RES-004 lambdaRolePolicy",  # arn:aws:logs:... does not exist in AWS China
            "RES-004 api",  # the swagger body's integration uri is hard-coded arn:aws:apigateway:...
            "TLS-007 api",  # REST API with no securityPolicy: TLS 1.0 on the execute-api endpoint
            "AUD-005 api-stage",  # no accessLogSettings: requests to the API are not recorded
            "AUD-005 example-stage",
            "AUD-006 mylambda",  # no /aws/lambda/<name> log group declared: Lambda's own keeps logs forever
        ),
        clean=frozenset(
            {"lambdaRole", "api-deployment", "api-rest-lambda-permission", "api-http-lambda-permission"}
        ),
        # The stage's REST API is in the stack (joined by id) and judged on its own.
        not_found=pairs("TLS-007 api-stage", "ENC-002 mylambda"),  # no environment variables to encrypt
    ),
    "aws-py-serverless-raw": Expect(
        finds=pairs(
            "ACC-004 mylambda-policy",  # logs:* and cloudwatch:* on "*"
            "ENC-002 counterTable",  # no serverSideEncryption: AWS owned key
            "ENC-002 mylambda",  # environment variables under the AWS managed key
            "CLS-001 counterTable",
            "RET-003 counterTable",  # no TTL
            "RES-004 api",  # arn:aws:apigateway in the swagger body
            "TLS-007 api",
            "AUD-002 counterTable",  # untagged (personal, fail safe) and no trail records its data events
            "AUD-005 api-stage",
            "AUD-006 mylambda",
        ),
        clean=frozenset({"mylambda-role", "api-deployment", "api-lambda-permission"}),
        # The table ARN in the policy comes from the mocks: arn:aws-cn:dynamodb:cn-north-1:...;
        # getPolicyDocument is computed locally for the role's trust policy.
        not_found=pairs("RES-004 mylambda-policy", "TLS-007 api-stage"),
    ),
    "aws-py-ansible-wordpress": Expect(
        config=("publicKeyPath=/dev/null", "privateKeyPath=/dev/null", "dbPassword=mock"),
        finds=pairs(
            "ENC-002 wordpressdb",  # no storageEncrypted
            "TLS-002 wordpressdb",  # default parameter group: require_secure_transport off
            "CLS-001 wordpressdb",
            "ENC-004 wordpress-instance",  # unencrypted root volume (the WordPress uploads)
            "AUD-004 wordpressdb",  # MySQL exports no audit log: connections to the users' data unrecorded
        ),
        clean=frozenset(
            {
                "prod-vpc",
                "prod-subnet-public-1",
                "prod-subnet-private-1",
                "prod-subnet-private-2",
                "prod-igw",
                "prod-public-rt",
                "prod-rta-public-subnet-1",
                "rds-subnet-grp",
                "wordpress-keypair",
                "wordpress-eip",
            }
        ),
        not_evaluated=frozenset({"renderPlaybookCmd", "updatePythonCmd", "playAnsiblePlaybookCmd"}),
    ),
    "aws-py-apigatewayv2-http-api-quickcreate": Expect(
        # aws.iam.ManagedPolicy.AWS_LAMBDA_BASIC_EXECUTION_ROLE is an arn:aws: ARN.
        finds=pairs(
            "RES-004 lambdaRoleAttachment",
            "AUD-006 lambdaFunction",  # no log group declared for the function: kept forever
            # apigateway.amazonaws.com may invoke the function with no SourceArn: any API in any account.
            "ACC-003 lambdaPermission",
        ),
        clean=frozenset({"lambdaRole"}),
        # HTTP APIs serve TLS 1.2 only: no securityPolicy to set.
        not_found=pairs("TLS-007 httpApiGateway"),
    ),
    "aws-py-dynamicresource": Expect(
        config=(
            "sql-admin-name=admin",
            "sql-admin-password=mock",
            "sql-user-name=user",
            "sql-user-password=mock",
        ),
        finds=pairs(
            "ENC-002 mysql-server",
            "TLS-002 mysql-server",
            "CLS-001 mysql-server",
            "AUD-004 mysql-server",  # no 'audit' log export
        ),
        clean=frozenset(
            {
                "app-vpc",
                "app-vpc-subnet",
                "extra-rds-subnet",
                "app-gateway",
                "app-routetable",
                "app_routetable_association",
                "app-database-subnetgroup",
            }
        ),
        # The dynamic provider's table and the mysql provider's objects: not evaluated, and said so.
        not_evaluated=frozenset(
            {"mysql_votes_table", "mysql-database", "mysql-standard-user", "mysql-access-grant"}
        ),
    ),
    "aws-py-ec2-provisioners": Expect(
        config=("privateKey=mock", "publicKey=ssh-rsa AAAAB3NzaC1yc2EAAAADAQABAAABAQ mock"),
        finds=pairs("ENC-004 server"),
        clean=frozenset({"key"}),
        not_evaluated=frozenset({"config", "cat-config"}),
    ),
    "aws-py-ecs-instances-autoapi/py-ecs-instance": Expect(
        config=("cfg:autoscalingGroupSize=2",),
        finds=pairs(
            "RES-004 ecs-instance-policy-attach",
            "RES-004 task-excution-policy-attach",
            "TLS-003 web",  # HTTP on port 80, forwarding
            "ENC-004 launch-config",  # the container instances' root volumes are not encrypted
            "AUD-005 load-balancer",  # the ALB keeps no access logs
        ),
        clean=frozenset(
            {"task-execution-role", "ecs-instance-role", "cluster", "app-tg", "ecs-iam-instance-profile"}
        ),
    ),
    "aws-py-hub-and-spoke-network": Expect(
        finds=pairs(
            "ENC-004 spoke1-instance",
            "ENC-004 spoke2-instance",
            "RES-004 spoke1-role-policy-attachment",  # arn:aws:iam::aws:policy/AmazonSSMManagedInstanceCore
            "RES-004 spoke2-role-policy-attachment",
        ),
        clean=frozenset(
            {
                "tgw",
                "spoke-tgw-route-table",
                "insp-tgw-route-table",
                "spoke1-instance-role",
                "spoke2-instance-role",
                "spoke1-instance-profile",
                "spoke2-instance-profile",
                "inspection-eip",
                "inspection-tgw-vpc-attachment",
                "spoke1-tgw-vpc-attachment",
                "spoke1-endpoint-ssm",
            }
        ),
        # awsx.ec2.Vpc is a multi-language component: its subnets come from the awsx plugin.
        notices=("inspection-vpc is a component built by its provider's plugin",),
    ),
    "aws-py-langserve": Expect(
        finds=pairs(
            "ACC-004 langserve-task-role",  # logs:PutLogEvents etc. on "*"
            "ENC-002 langserve-log-group",  # no kmsKeyId
            "CLS-001 langserve-log-group",
            "ENC-002 langserve-ecr-repository",  # AES256 default
            "RES-004 langserve-execution-role",  # arn:aws:iam::aws:policy/... in managedPolicyArns
            "RES-004 langserve-key",  # key policy principal arn:aws:iam::<account>:root
            "TLS-003 langserve-listener",  # HTTP on port 80
            "AUD-005 langserve-load-balancer",  # no access logs
        ),
        clean=frozenset(
            {"langserve-vpc", "langserve-subnet1", "langserve-subnet2", "langserve-target-group"}
        ),
        not_found=pairs(
            "ENC-002 langserve-ssm-parameter",  # SecureString under the program's own rotating key
            "ENC-003 langserve-key",  # enable_key_rotation=True
            "RET-003 langserve-log-group",  # retention_in_days=7
        ),
        not_evaluated=frozenset({"langserve-ecr-image"}),
    ),
    "aws-py-voting-app": Expect(
        config=("redis-password=mock",),
        finds=pairs(
            "ACC-004 app-access-policy",  # AmazonECS_FullAccess on the task role
            "RES-004 app-access-policy",
            "RES-004 app-exec-policy",
            "ENC-002 app-ecr-repo",
            "TLS-003 flask-listener",  # public NLB, TCP on port 80
            "TLS-003 redis-listener",  # public NLB, TCP on 6379
            "AUD-005 flask-balancer",  # the NLBs keep no access logs
            "AUD-005 redis-balancer",
        ),
        clean=frozenset(
            {
                "app-vpc",
                "app-vpc-subnet",
                "app-gateway",
                "app-routetable",
                "app-cluster",
                "app-exec-role",
                "app-task-role",
                "app-lifecycle-policy",
                "redis-targetgroup",
                "flask-targetgroup",
            }
        ),
        not_evaluated=frozenset({"flask-dockerimage"}),
    ),
    "aws-py-stackreference/team": Expect(
        config=("companyStack=acme/company/dev", "departmentStack=acme/department/dev", "teamName=platform"),
        finds=pairs("ENC-004 tagged"),
        # Another stack's outputs cannot be read without its backend: the references are context only.
        clean=frozenset({"acme/company/dev", "acme/department/dev"}),
    ),
    "aws-py-stackreference/company": Expect(config=("companyName=acme",)),
    "aws-py-stackreference/department": Expect(config=("departmentName=platform",)),
}

#: Programs that cannot run as published: the program's own error, exit 2, and where it stopped.
FAILING: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    # Written for pulumi-docker 3 (docker.ImageRegistry); its requirements.txt pins 4.11.
    "aws-py-django-voting-app": (
        (
            "sql-admin-name=admin",
            "sql-admin-password=mock",
            "sql-user-name=user",
            "sql-user-password=mock",
            "django-admin-name=admin",
            "django-admin-password=mock",
            "django-secret-key=mock",
        ),
        # How many resources were declared before it raised depends on the order applies resolve in.
        (
            "the program failed after ",
            "resources: AttributeError",
            "ImageRegistry",
            "__main__.py:265 in get_registry_info",
        ),
    ),
}


def _checked(name: str):  # noqa: ANN202
    expect = EXPECTED[name]
    return check_program(str(program_dir(name)), "dev", (REGION, *expect.config))


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_program_verdicts(name: str) -> None:
    expect = EXPECTED[name]
    checked = _checked(name)
    no_crash(checked.result.findings)
    found = checked.found()
    shown = checked.shown()
    assert expect.finds <= found, f"missed {sorted(expect.finds - found)}\n{shown}"
    assert not {(r, n) for r, n in found if n in expect.clean}, f"false positive on a clean resource\n{shown}"
    assert not expect.not_found & found, f"false positive {sorted(expect.not_found & found)}\n{shown}"
    assert not {(r, n) for r, n in found if r in NEVER}, f"territory rule fired in cn-north-1\n{shown}"
    not_evaluated = {urn.rsplit("::", 1)[-1] for urn, _t, _r in checked.result.coverage.not_evaluated}
    assert expect.not_evaluated <= not_evaluated
    for fragment in expect.notices:
        assert any(fragment in n for n in checked.run.notices), (fragment, checked.run.notices)


GAPS = sorted((name, rule, res) for name, e in EXPECTED.items() for rule, res in e.gaps)


@pytest.mark.parametrize(("name", "rule", "resource"), GAPS)
def test_known_gaps(name: str, rule: str, resource: str) -> None:
    """A true positive no rule finds yet: XFAIL until one does (then move it to `finds`)."""
    if (rule, resource) not in _checked(name).found():
        pytest.xfail(f"{rule} does not find {resource} in {name} yet")


@pytest.mark.parametrize("name", sorted(FAILING))
def test_program_that_raises_exits_with_its_own_error(name: str) -> None:
    config, fragments = FAILING[name]
    with pytest.raises(InputError) as info:
        check_program(str(program_dir(name)), "dev", (REGION, *config))
    message = str(info.value)
    assert "\n" not in message
    for fragment in fragments:
        assert fragment in message, message


def test_at_least_ten_real_programs_are_judged() -> None:
    judged = [n for n, e in EXPECTED.items() if e.finds or e.clean]
    assert len(judged) >= 10, judged


def test_stack_reference_outputs_are_unknown() -> None:
    """The team's tags come from two other stacks: unknown, never invented."""
    doc = _checked("aws-py-stackreference/team").run.document
    (instance,) = [r for r in doc["deployment"]["resources"] if r["type"] == "aws:ec2/instance:Instance"]
    unknown = "04da6b54-80e4-46f7-96ec-b56ff0331ba9"
    assert instance["inputs"]["tags"]["department"] == unknown
    assert instance["inputs"]["tags"]["company"] == unknown
    assert instance["inputs"]["tags"]["team"] == "platform"
    refs = [r for r in doc["deployment"]["resources"] if r["type"] == "pulumi:pulumi:StackReference"]
    assert refs and all(r.get("external") is True and r["outputs"]["outputs"] == unknown for r in refs)
