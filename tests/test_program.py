"""`residency check --program DIR`: the project's own program, the CLI contract, isolation and the mocks.

Every program run is a subprocess (the program's interpreter, a timeout, no network, no AWS
credential); runs are cached per (program, stack, config) in tests/program_checks.py.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from honesty import no_crash
from paths import ROOT
from program_checks import PROGRAMS, check_program, program_dir

from policies.errors import InputError
from policies.sources import program_mocks
from policies.sources.program import NOT_PYTHON, load_program, merge_config, pick_stack, read_project

RESIDENCY = [sys.executable, "-m", "policies.cli"]
UNKNOWN = "04da6b54-80e4-46f7-96ec-b56ff0331ba9"
STACKS = ("prod-cn-north-1", "dr-cn-northwest-1")


def residency(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(
        [*RESIDENCY, *args], capture_output=True, text=True, timeout=180, cwd=ROOT, env=env, check=False
    )


def write_program(
    folder: Path, main: str, *, stacks: dict[str, str] | None = None, project: str = ""
) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "Pulumi.yaml").write_text(project or "name: sample\nruntime: python\n")
    (folder / "__main__.py").write_text(textwrap.dedent(main))
    for stack, text in (stacks or {}).items():
        (folder / f"Pulumi.{stack}.yaml").write_text(textwrap.dedent(text))
    return folder


# -- the project's own program ------------------------------------------------------------------


@pytest.mark.parametrize("stack", STACKS)
def test_infra_example_stacks_have_no_findings(stack: str) -> None:
    checked = check_program(str(ROOT), stack)
    result = no_crash(checked.result)
    assert result.findings == [], checked.shown()
    assert result.resources >= 40
    assert not result.coverage.not_evaluated
    # Pulumi.yaml names a `venv` that a fresh checkout does not have: the current interpreter ran it.
    assert any("virtualenv `venv` does not exist" in n for n in checked.run.notices)


def test_infra_region_outside_china_is_refused_before_any_resource() -> None:
    proc = residency(
        "check", "--program", str(ROOT), "--stack", STACKS[0], "--config", "aws:region=us-east-1"
    )
    assert proc.returncode == 2, proc.stdout + proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1, proc.stderr
    assert "after 0 resources" in lines[0]
    assert "aws:region" in lines[0] and "us-east-1 is outside mainland China" in lines[0]
    assert "infra/config.py:" in lines[0]  # the last frame of the program's own code
    assert "Traceback" not in proc.stderr


def _rule_urns(stdout: str) -> set[tuple[str, str]]:
    return {(f["rule"], f["urn"]) for f in json.loads(stdout)["findings"]}


@pytest.mark.parametrize(
    ("program", "stack", "config"),
    [("", STACKS[0], ()), ("aws-py-serverless-raw", "dev", ("aws:region=cn-north-1",))],
    ids=["infra", "serverless-raw"],
)
def test_program_gives_the_findings_of_its_stack_export(
    program: str, stack: str, config: tuple[str, ...], tmp_path: Path
) -> None:
    """`--program` and `check EXPORT.json` on the export of a mock run of the same program agree on
    every (rule, URN). The mock run is deterministic (names and ids derive from URNs), so the CLI's
    own run made the same export."""
    directory = program_dir(program) if program else ROOT
    checked = check_program(str(directory), stack, config)
    export = tmp_path / "export.json"
    export.write_text(json.dumps(checked.run.document))
    options = [f"--config={c}" for c in config]
    via_program = residency(
        "check", "--program", str(directory), "--stack", stack, *options, "--format", "json"
    )
    via_export = residency("check", str(export), "--format", "json")
    assert via_program.returncode == via_export.returncode, via_program.stderr + via_export.stderr
    assert _rule_urns(via_program.stdout) == _rule_urns(via_export.stdout)
    assert _rule_urns(via_program.stdout) == {(f.rule, f.urn) for f in checked.result.findings}
    if program:
        assert _rule_urns(via_program.stdout) and via_program.returncode == 1


def test_sarif_names_the_project_file() -> None:
    proc = residency("check", "--program", str(ROOT), "--stack", STACKS[1], "--format", "sarif")
    assert proc.returncode == 0, proc.stderr
    sarif = json.loads(proc.stdout)
    assert sarif["runs"][0]["results"] == []


# -- invocation ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("args", "fragment"),
    [
        (("check", "x.json", "--program", "."), "mutually exclusive"),
        (("check",), "nothing to check"),
        (("check", "x.json", "--stack", "prod"), "--stack and --config go with --program"),
        (("check", "--program", "."), "stacks found: dr-cn-northwest-1, prod-cn-north-1"),
        (("check", "--program", "no-such-folder"), "is not a folder"),
        (("check", "--program", ".", "--stack", STACKS[0], "--config", "novalue"), "is not KEY=VALUE"),
    ],
)
def test_bad_invocations_exit_2_with_one_line(args: tuple[str, ...], fragment: str) -> None:
    proc = residency(*args)
    assert proc.returncode == 2, proc.stdout + proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1, proc.stderr
    assert fragment in proc.stderr


@pytest.mark.parametrize("runtime", ["nodejs", "go", "yaml", "{name: dotnet}"])
def test_a_program_that_is_not_python_is_refused(runtime: str, tmp_path: Path) -> None:
    (tmp_path / "Pulumi.yaml").write_text(f"name: other\nruntime: {runtime}\n")
    with pytest.raises(InputError) as info:
        read_project(tmp_path)
    assert NOT_PYTHON in str(info.value)
    assert "\n" not in str(info.value)


def test_stack_choice(tmp_path: Path) -> None:
    project = read_project(write_program(tmp_path / "one", "", stacks={"only": "config: {}\n"}))
    assert pick_stack(project, None)[0] == "only"
    with pytest.raises(InputError, match="stacks found: none"):
        pick_stack(read_project(write_program(tmp_path / "none", "")), None)
    name, file, notices = pick_stack(project, "acme/sample/other")
    assert (name, file) == ("other", None) and "no Pulumi.other.yaml" in notices[0]


def test_config_is_merged_as_the_cli_does(tmp_path: Path) -> None:
    folder = write_program(
        tmp_path,
        "",
        project=textwrap.dedent(
            """\
            name: shop
            runtime: {name: python, options: {virtualenv: venv}}
            config:
              size: {type: string, default: small}
              tier: gold
              aws:region: {value: cn-northwest-1}
            """
        ),
        stacks={
            "dev": """\
            config:
              shop:size: large
              aws:region: cn-north-1
              shop:password: {secure: v1:AAAA}
              shop:nested: {key: {secure: v1:BBBB}, plain: 1}
            """
        },
    )
    project = read_project(folder)
    config, secrets, notices = merge_config(project, pick_stack(project, "dev")[1], ["tier=silver"])
    assert config["shop:size"] == "large"  # the stack file wins over the project default
    assert config["shop:tier"] == "silver"  # --config wins, unqualified keys are the project's
    assert config["aws:region"] == "cn-north-1"
    assert config["shop:password"] == UNKNOWN  # secure: cannot be decrypted without the backend
    assert config["shop:nested"] == {"key": UNKNOWN, "plain": 1}
    assert secrets == ["shop:nested", "shop:password"]
    assert any("shop:password" in n and "--config" in n for n in notices)
    given, secrets, _ = merge_config(project, pick_stack(project, "dev")[1], ["shop:password=hunter2"])
    assert given["shop:password"] == "hunter2" and "shop:password" not in secrets


# -- isolation ----------------------------------------------------------------------------------

_RAISES = """\
    import pulumi_aws as aws

    aws.s3.BucketV2("first")

    def declare_more():
        raise ValueError("the program's own\\nerror")

    declare_more()
"""


def test_a_program_that_raises_names_its_error_frame_and_count(tmp_path: Path) -> None:
    folder = write_program(tmp_path / "p", _RAISES, stacks={"dev": "config:\n  aws:region: cn-north-1\n"})
    proc = residency("check", "--program", str(folder))
    assert proc.returncode == 2
    line = proc.stderr.strip()
    assert "\n" not in line
    assert "after 1 resource:" in line
    assert "ValueError: the program's own error" in line
    assert "__main__.py:6 in declare_more" in line


_ISOLATED = """\
    import os, socket
    import pulumi, pulumi_aws as aws

    try:
        socket.create_connection(("192.0.2.1", 443), timeout=1)
        reached = "yes"
    except OSError as exc:
        reached = type(exc).__name__
    aws.s3.BucketV2(
        "probe",
        tags={
            "key": os.environ.get("AWS_ACCESS_KEY_ID", "none"),
            "profile": os.environ.get("AWS_PROFILE", "none"),
            "token": os.environ.get("PULUMI_ACCESS_TOKEN", "none"),
            "network": reached,
        },
    )
"""


def test_no_credentials_and_no_network_reach_the_program(tmp_path: Path) -> None:
    """The parent's AWS and Pulumi credentials are not in the child's environment, and a connection to
    anything but loopback fails before any packet leaves (192.0.2.1 is TEST-NET-1, never routed)."""
    folder = write_program(tmp_path / "p", _ISOLATED, stacks={"dev": "config:\n  aws:region: cn-north-1\n"})
    secrets = {"AWS_ACCESS_KEY_ID": "AKIAEXAMPLE", "AWS_PROFILE": "prod", "PULUMI_ACCESS_TOKEN": "pul-x"}
    env = {**os.environ, **secrets}
    proc = residency("check", "--program", str(folder), "--format", "json", env=env)
    assert proc.returncode in (0, 1), proc.stderr
    run = load_program(folder)
    (bucket,) = [
        r for r in run.document["deployment"]["resources"] if r["type"] == "aws:s3/bucketV2:BucketV2"
    ]
    assert bucket["inputs"]["tags"]["key"] == "none"
    assert bucket["inputs"]["tags"]["profile"] == "none"
    assert bucket["inputs"]["tags"]["token"] == "none"
    assert bucket["inputs"]["tags"]["network"] == "NetworkDisabled"


def test_a_program_that_never_ends_is_stopped(tmp_path: Path) -> None:
    folder = write_program(tmp_path / "p", "import time\ntime.sleep(60)\n", stacks={"dev": "config: {}\n"})
    with pytest.raises(InputError, match="did not finish within 2 s"):
        load_program(folder, timeout=2)


def test_a_missing_virtualenv_falls_back_with_a_notice(tmp_path: Path) -> None:
    folder = write_program(
        tmp_path / "p",
        "import pulumi\n",
        project="name: sample\nruntime:\n  name: python\n  options:\n    virtualenv: venv\n",
        stacks={"dev": "config: {}\n"},
    )
    run = load_program(folder)
    assert any("virtualenv `venv` does not exist" in n and sys.executable in n for n in run.notices)


# -- the mocks ----------------------------------------------------------------------------------


def test_policy_document_is_built_as_the_provider_builds_it() -> None:
    """The trust policy every Lambda example computes, byte for byte as pulumi-aws returns it."""
    args = {
        "statements": [
            {
                "actions": ["sts:AssumeRole"],
                "principals": [{"type": "Service", "identifiers": ["lambda.amazonaws.com"]}],
            }
        ]
    }
    assert program_mocks.policy_document(args)["json"] == textwrap.dedent(
        """\
        {
          "Version": "2012-10-17",
          "Statement": [
            {
              "Effect": "Allow",
              "Action": "sts:AssumeRole",
              "Principal": {
                "Service": "lambda.amazonaws.com"
              }
            }
          ]
        }"""
    )
    # Sets of actions come out in reverse order, with Sid first and conditions by test and variable.
    doc = json.loads(
        program_mocks.policy_document(
            {
                "statements": [
                    {
                        "sid": "Read",
                        "effect": "Deny",
                        "actions": ["s3:GetObject", "s3:ListBucket"],
                        "resources": ["arn:aws-cn:s3:::b/*"],
                        "conditions": [
                            {"test": "Bool", "variable": "aws:SecureTransport", "values": ["false"]}
                        ],
                    }
                ]
            }
        )["json"]
    )
    assert doc["Statement"] == [
        {
            "Sid": "Read",
            "Effect": "Deny",
            "Action": ["s3:ListBucket", "s3:GetObject"],
            "Resource": "arn:aws-cn:s3:::b/*",
            "Condition": {"Bool": {"aws:SecureTransport": "false"}},
        }
    ]


def _answers(region: str | None = "cn-north-1", **config: str) -> program_mocks.AwsAnswers:
    base = {"aws:region": region} if region else {}
    return program_mocks.AwsAnswers(config={**base, **config}, stack="dev", project="p")


@pytest.mark.parametrize(
    ("region", "partition", "suffix"),
    [
        ("cn-north-1", "aws-cn", "amazonaws.com.cn"),
        ("cn-northwest-1", "aws-cn", "amazonaws.com.cn"),
        ("eu-west-1", "aws", "amazonaws.com"),
    ],
)
def test_arns_and_endpoints_follow_the_region(region: str, partition: str, suffix: str) -> None:
    answers = _answers(region)
    _id, queue = answers.resource("aws:sqs/queue:Queue", "jobs", {"name": "jobs"})
    assert queue["arn"] == f"arn:{partition}:sqs:{region}:123456789012:jobs"
    assert queue["url"] == f"https://sqs.{region}.{suffix}/123456789012/jobs"
    assert answers.call("aws:index/getPartition:getPartition", {})["partition"] == partition
    identity = answers.call("aws:index/getCallerIdentity:getCallerIdentity", {})
    assert identity["arn"].startswith(f"arn:{partition}:iam::123456789012:")


def test_region_of_a_resource_input_then_provider_then_config() -> None:
    answers = _answers("cn-north-1", **{"aws:allowedAccountIds": '["210987654321"]'})
    provider_urn = "urn:pulumi:dev::p::pulumi:providers:aws::ningxia"
    ident, _ = answers.resource(
        "pulumi:providers:aws", "ningxia", {"region": "cn-northwest-1"}, urn=provider_urn
    )
    ref = f"{provider_urn}::{ident}"
    _id, via_provider = answers.resource("aws:kms/key:Key", "k", {}, provider_ref=ref)
    assert via_provider["arn"].startswith("arn:aws-cn:kms:cn-northwest-1:210987654321:key/")
    _id, own = answers.resource("aws:kms/key:Key", "k2", {"region": "cn-north-1"}, provider_ref=ref)
    assert own["arn"].startswith("arn:aws-cn:kms:cn-north-1:")
    _id, default = answers.resource("aws:kms/key:Key", "k3", {})
    assert default["arn"].startswith("arn:aws-cn:kms:cn-north-1:")


def test_unknown_region_builds_no_arn() -> None:
    """An explicit provider with no region deploys wherever AWS_REGION points: nothing to build."""
    answers = _answers(None)
    _id, key = answers.resource("aws:kms/key:Key", "k", {})
    assert "arn" not in key  # unknown under the preview runtime: fail closed, never invented


def test_autonaming_is_deterministic_and_shaped_like_the_providers() -> None:
    import pulumi_aws  # noqa: F401 - the SDK class tells which types take a name
    import pulumi_aws.s3  # noqa: F401

    first = _answers().resource("aws:s3/bucketV2:BucketV2", "Uploads", {})
    second = _answers().resource("aws:s3/bucketV2:BucketV2", "Uploads", {})
    assert first == second
    ident, bucket = first
    assert ident == bucket["bucket"] and ident.startswith("uploads-") and len(ident) == len("uploads-") + 7
    assert bucket["arn"] == f"arn:aws-cn:s3:::{ident}"
    _id, given = _answers().resource("aws:s3/bucketV2:BucketV2", "b", {"bucket": "named"})
    assert given["bucket"] == "named" and given["arn"] == "arn:aws-cn:s3:::named"


def test_unanswered_data_sources_are_counted() -> None:
    answers = _answers()
    assert answers.call("aws:kms/getKey:getKey", {"keyId": "alias/x"}) == {}
    assert answers.unanswered == {"aws:kms/getKey:getKey": 1}


def test_programs_folder_is_read_in_place() -> None:
    """The real programs stay in ../shared: nothing of theirs is copied into the project."""
    if not PROGRAMS.is_dir():
        pytest.skip("shared/fixtures/pulumi-programs missing")
    ours = {p.name for p in (ROOT / "tests").rglob("*") if p.is_dir()}
    assert not ours & {p.name for p in PROGRAMS.iterdir() if p.is_dir()}


def test_ci_example_runs_the_program_without_credentials() -> None:
    import yaml

    text = (ROOT / "examples" / "ci" / "github-actions-program.yml").read_text()
    workflow = yaml.safe_load(text)
    steps = workflow["jobs"]["residency"]["steps"]
    runs = "\n".join(step.get("run", "") for step in steps)
    assert "residency check --program . --stack" in runs and "--format sarif" in runs
    assert any(step.get("uses", "").startswith("github/codeql-action/upload-sarif") for step in steps)
    assert "secrets." not in text and "AWS_ACCESS_KEY_ID" not in text and "pulumi preview" not in runs


def test_a_disabled_default_provider_fails_as_pulumi_up_would(tmp_path: Path) -> None:
    folder = write_program(
        tmp_path / "p",
        'import pulumi_aws as aws\naws.s3.BucketV2("b")\n',
        project="name: p\nruntime: python\nconfig:\n  pulumi:disable-default-providers:\n    value: [aws]\n",
        stacks={"dev": "config:\n  aws:region: cn-north-1\n"},
    )
    with pytest.raises(InputError, match=r"after 0 resources: .*Default provider for 'aws' disabled"):
        load_program(folder)


def test_the_check_side_never_imports_pulumi() -> None:
    """Only the child process imports pulumi and the provider SDKs (DESIGN: the check path never
    imports pulumi_aws, boto3 or kopf)."""
    code = (
        "import sys; from policies.sources.program import load_program;"
        f"load_program({str(ROOT)!r}, {STACKS[0]!r});"
        "bad = sorted(m for m in sys.modules if m.split('.')[0] in ('pulumi', 'pulumi_aws', 'boto3', 'kopf'));"
        "print(bad); sys.exit(1 if bad else 0)"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, timeout=120)
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_the_program_runs_with_the_virtualenvs_interpreter(tmp_path: Path) -> None:
    """runtime.options.virtualenv names the interpreter; one without pulumi says what to install."""
    import shutil

    python = shutil.which("python3", path="/usr/bin:/usr/local/bin")
    probe = subprocess.run([python or "false", "-c", "import pulumi"], capture_output=True, check=False)
    if python is None or probe.returncode == 0:
        pytest.skip("needs a system python3 without pulumi")
    folder = write_program(
        tmp_path / "p",
        "import pulumi\n",
        project="name: p\nruntime:\n  name: python\n  options:\n    virtualenv: env\n",
        stacks={"dev": "config: {}\n"},
    )
    (folder / "env" / "bin").mkdir(parents=True)
    (folder / "env" / "bin" / "python").symlink_to(python)
    with pytest.raises(InputError, match=r"cannot import pulumi .*pip install -r requirements.txt") as info:
        load_program(folder)
    assert "env/bin/python" in str(info.value)


@pytest.mark.parametrize(
    "folder", ["aws-py-ecs-instances-autoapi", "aws-py-ecs-instances-autoapi/automation"]
)
def test_an_automation_api_driver_is_not_a_program(folder: str) -> None:
    """The Automation API driver (TypeScript here) is no Pulumi project: check the program it deploys
    (py-ecs-instance, in test_real_programs) instead."""
    with pytest.raises(InputError, match="has no Pulumi.yaml"):
        load_program(program_dir(folder))


_NEW_BUCKET = """\
    import pulumi_aws as aws

    aws.s3.Bucket("uploads", tags={"data-category": "user-uploads"})
"""


def test_a_new_non_compliant_bucket_fails_the_check(tmp_path: Path) -> None:
    """What the CI job blocks: a bucket of personal data with none of its protections, in a program
    whose `main` is a file, checked before it was ever deployed."""
    folder = tmp_path / "shop"
    (folder / "src").mkdir(parents=True)
    (folder / "src" / "app.py").write_text(textwrap.dedent(_NEW_BUCKET))
    (folder / "Pulumi.yaml").write_text("name: shop\nruntime: python\nmain: src/app.py\n")
    (folder / "Pulumi.prod.yaml").write_text("config:\n  aws:region: cn-north-1\n")
    proc = residency("check", "--program", str(folder), "--format", "json")
    assert proc.returncode == 1, proc.stderr
    report = json.loads(proc.stdout)
    rules = {f["rule"] for f in report["findings"] if f["urn"].endswith("::uploads")}
    assert {"ENC-001", "ACC-001", "TLS-001", "RET-001"} <= rules, rules
    assert not any(f["unknown"] for f in report["findings"])  # judged on what AWS would report
    assert not any(f["rule"].startswith("RES-") for f in report["findings"])


def test_stack_config_reaches_the_default_provider(tmp_path: Path) -> None:
    """`aws:defaultTags` in the stack config classifies what the default provider creates, as in a
    real stack export (the engine hands the provider its config as strings, objects as JSON)."""
    folder = write_program(
        tmp_path / "p",
        'import pulumi_aws as aws\naws.dynamodb.Table("t", hash_key="id", attributes=[{"name": "id", "type": "S"}])\n',
        stacks={
            "dev": "config:\n  aws:region: cn-north-1\n  aws:defaultTags:\n    tags: {data-category: server-logs}\n"
        },
    )
    checked = check_program(str(folder))
    (provider,) = [
        r for r in checked.run.document["deployment"]["resources"] if r["type"] == "pulumi:providers:aws"
    ]
    assert provider["inputs"]["region"] == "cn-north-1"
    assert json.loads(provider["inputs"]["defaultTags"]) == {"tags": {"data-category": "server-logs"}}
    assert [d.category for d in checked.result.declarations] == ["server-logs"]
    assert "RET-003" in {f.rule for f in checked.result.findings}  # judged against server-logs' bounds


def test_a_program_pointed_outside_china_is_found_there() -> None:
    """The same real program in us-east-1: its stores are outside the territory, its ARNs are arn:aws:."""
    checked = check_program(str(program_dir("aws-py-serverless-raw")), "dev", ("aws:region=us-east-1",))
    found = checked.found()
    assert ("RES-001", "counterTable") in found, checked.shown()
    table = next(
        r for r in checked.run.document["deployment"]["resources"] if r["urn"].endswith("::counterTable")
    )
    assert table["outputs"]["arn"].startswith("arn:aws:dynamodb:us-east-1:123456789012:table/counterTable-")


def test_values_built_from_an_unknown_are_unknown() -> None:
    """A bucket named from another stack's output: its ARN and id are unknown, not an ARN that
    carries the sentinel inside it (which would read as a known value)."""
    _id, bucket = _answers().resource("aws:s3/bucketV2:BucketV2", "b", {"bucket": UNKNOWN})
    assert _id == "" and "arn" not in bucket and bucket["bucket"] == UNKNOWN
    _id, policy = _answers().resource("aws:iam/rolePolicy:RolePolicy", "p", {"role": UNKNOWN, "name": "p"})
    assert _id == ""


def test_findings_point_at_the_line_that_declared_the_resource() -> None:
    """Source positions as the engine records them (`project:///<file>#<line>`), so SARIF annotates
    the pull request on the line of the program, not on Pulumi.yaml."""
    checked = check_program(str(program_dir("aws-py-serverless-raw")), "dev", ("aws:region=cn-north-1",))
    positions = {f.source_position for f in checked.result.findings if f.name == "counterTable"}
    assert positions == {"project:///__main__.py#21"}  # counter_table = aws.dynamodb.Table(
    infra = check_program(str(ROOT), STACKS[0]).run.document["deployment"]["resources"]
    buckets = [r for r in infra if r["type"] == "aws:s3/bucket:Bucket"]
    assert buckets and all(r["sourcePosition"].startswith("project:///infra/buckets.py#") for r in buckets)


_LOOKED_UP_KEY = """\
    import pulumi_aws as aws

    key = aws.kms.get_key{form}(key_id="alias/shared-data")
    bucket = aws.s3.Bucket("uploads", tags={{"data-category": "user-uploads"}})
    aws.s3.BucketServerSideEncryptionConfiguration(
        "uploads-sse",
        bucket=bucket.id,
        rules=[
            {{
                "apply_server_side_encryption_by_default": {{"sse_algorithm": "aws:kms", "kms_master_key_id": key.arn}},
                "bucket_key_enabled": True,
            }}
        ],
    )
"""


def test_a_data_source_the_mocks_do_not_know_is_unknown(tmp_path: Path) -> None:
    """A key looked up by alias may be AWS managed or in another region: the mocks cannot know, so the
    key is unknown (never a made-up customer-managed key that would pass ENC-001)."""
    stacks = {"dev": "config:\n  aws:region: cn-north-1\n"}
    output_form = write_program(tmp_path / "output", _LOOKED_UP_KEY.format(form="_output"), stacks=stacks)
    checked = check_program(str(output_form))
    (enc,) = [f for f in checked.result.findings if f.rule == "ENC-001" and f.name == "uploads"]
    assert enc.unknown, enc.message
    assert any("aws:kms/getKey:getKey" in n and "unknown" in n for n in checked.run.notices)
    plain_form = write_program(tmp_path / "plain", _LOOKED_UP_KEY.format(form=""), stacks=stacks)
    with pytest.raises(InputError, match=r"the program read aws:kms/getKey:getKey, which the mock runtime"):
        load_program(plain_form)
