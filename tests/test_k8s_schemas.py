"""Every manifest of cluster/k8s against a schema (issue 16): Kubernetes kinds against the
Kubernetes OpenAPI schemas that `kubernetes-validate` bundles (strict: an unknown field fails), the
KubeRay kinds against a small schema of the RayJob/RayCluster fields we use, written from KubeRay's
CRDs (ray.io/v1, KubeRay >= 1.5.1), with their pod templates checked as Kubernetes PodTemplates.
Kubernetes itself cannot run here, so this is the check that the files would be accepted."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

kv = pytest.importorskip("kubernetes_validate", reason="pip install -e '.[dev]' (kubernetes-validate)")
jsonschema = pytest.importorskip("jsonschema")

K8S = Path(__file__).resolve().parents[1] / "cluster" / "k8s"
K8S_VERSION = "1.30"  # oldest Kubernetes we claim (KubeRay 1.5 supports 1.25+; 1.30 is still served)
NOT_IN_KUSTOMIZATION = {"kustomization.yaml", "secret.example.yaml", "raycluster.yaml"}

# --- KubeRay: the fields of ray.io/v1 we use (ray-operator/apis/ray/v1/*_types.go, the CRDs in
# ray-operator/config/crd/bases). additionalProperties false where we list every field we set, so a
# typo (or a field from another KubeRay version) fails here instead of being dropped by the API server.
_STR_MAP = {"type": "object", "additionalProperties": {"type": "string"}}
_INT32 = {"type": "integer", "minimum": 0, "maximum": 2**31 - 1}
_TEMPLATE = {"type": "object", "required": ["spec"]}  # checked as a PodTemplate below
_HEAD = {
    "type": "object",
    "required": ["rayStartParams", "template"],
    "additionalProperties": False,
    "properties": {
        "rayStartParams": _STR_MAP,
        "serviceType": {"enum": ["ClusterIP", "NodePort", "LoadBalancer"]},
        "template": _TEMPLATE,
        "enableIngress": {"type": "boolean"},
        "headService": {"type": "object"},
    },
}
_WORKER = {
    "type": "object",
    "required": ["groupName", "rayStartParams", "template"],
    "additionalProperties": False,
    "properties": {
        "groupName": {"type": "string", "minLength": 1},
        "replicas": _INT32,
        "minReplicas": _INT32,
        "maxReplicas": _INT32,
        "numOfHosts": _INT32,
        "idleTimeoutSeconds": _INT32,
        "rayStartParams": _STR_MAP,
        "template": _TEMPLATE,
    },
}
_CLUSTER_SPEC = {
    "type": "object",
    "required": ["headGroupSpec"],
    "additionalProperties": False,
    "properties": {
        "rayVersion": {"type": "string", "pattern": r"^\d+\.\d+\.\d+$"},
        "enableInTreeAutoscaling": {"type": "boolean"},
        "authOptions": {
            "type": "object",
            "additionalProperties": False,
            "properties": {"mode": {"enum": ["disabled", "token"]}, "secretName": {"type": "string"}},
        },
        "headGroupSpec": _HEAD,
        "workerGroupSpecs": {"type": "array", "items": _WORKER},
        "autoscalerOptions": {"type": "object"},
    },
}
_META = {"type": "object", "required": ["name"], "properties": {"name": {"type": "string"}}}


def _kind(kind: str, spec: dict) -> dict:
    return {
        "type": "object",
        "required": ["apiVersion", "kind", "metadata", "spec"],
        "additionalProperties": False,
        "properties": {
            "apiVersion": {"const": "ray.io/v1"},
            "kind": {"const": kind},
            "metadata": _META,
            "spec": spec,
        },
    }


KUBERAY = {
    "RayCluster": _kind("RayCluster", _CLUSTER_SPEC),
    "RayJob": _kind(
        "RayJob",
        {
            "type": "object",
            "required": ["entrypoint", "rayClusterSpec"],
            "additionalProperties": False,
            "properties": {
                "entrypoint": {"type": "string", "minLength": 1},
                "submissionMode": {
                    "enum": ["K8sJobMode", "HTTPMode", "InteractiveMode", "SidecarMode"]
                },
                "shutdownAfterJobFinishes": {"type": "boolean"},
                "ttlSecondsAfterFinished": _INT32,
                "backoffLimit": _INT32,
                "activeDeadlineSeconds": _INT32,
                "rayClusterSpec": _CLUSTER_SPEC,
            },
        },
    ),
}


# --- the manifests ----------------------------------------------------------------------------
def _docs() -> list[tuple[str, dict]]:
    out = []
    for path in sorted(K8S.glob("*.yaml")):
        if path.name == "kustomization.yaml":
            continue
        for i, doc in enumerate(d for d in yaml.safe_load_all(path.read_text()) if d):
            out.append((f"{path.name}#{i}:{doc.get('kind')}", doc))
    return out


DOCS = _docs()
K8S_DOCS = [(n, d) for n, d in DOCS if d["kind"] not in KUBERAY]
RAY_DOCS = [(n, d) for n, d in DOCS if d["kind"] in KUBERAY]


def _pod_templates(doc: dict) -> list[dict]:
    spec = doc["spec"].get("rayClusterSpec", doc["spec"])
    groups = [spec["headGroupSpec"], *spec.get("workerGroupSpecs", [])]
    return [g["template"] for g in groups]


def _validate_k8s(doc: dict) -> None:
    kv.validate(doc, K8S_VERSION, strict=True)


@pytest.mark.parametrize("doc", [d for _, d in K8S_DOCS], ids=[n for n, _ in K8S_DOCS])
def test_kubernetes_manifest_matches_the_schema(doc):
    _validate_k8s(doc)


@pytest.mark.parametrize("doc", [d for _, d in RAY_DOCS], ids=[n for n, _ in RAY_DOCS])
def test_kuberay_manifest_matches_the_crd_fields(doc):
    jsonschema.validate(doc, KUBERAY[doc["kind"]])
    for template in _pod_templates(doc):
        _validate_k8s({"apiVersion": "v1", "kind": "PodTemplate", "metadata": {"name": "t"},
                       "template": template})  # fmt: skip


def test_every_manifest_kind_has_a_schema():
    assert {d["kind"] for _, d in RAY_DOCS} == set(KUBERAY)
    assert len(K8S_DOCS) >= 7  # Services, Deployment, StatefulSet, PVC, NetworkPolicy, Secret


# --- the validators catch what they must ----------------------------------------------------------
def _rayjob() -> dict:
    (doc,) = [d for _, d in RAY_DOCS if d["kind"] == "RayJob"]
    return yaml.safe_load(yaml.safe_dump(doc))  # a deep copy to break


@pytest.mark.parametrize(
    "breaks",
    [
        lambda j: j["spec"].update(submisionMode="K8sJobMode"),  # misspelt field
        lambda j: j["spec"].update(submissionMode="BatchMode"),
        lambda j: j["spec"]["rayClusterSpec"]["authOptions"].update(mode="on"),
        lambda j: j["spec"]["rayClusterSpec"]["workerGroupSpecs"][0].update(replicas="8"),
        lambda j: j["spec"]["rayClusterSpec"]["headGroupSpec"].pop("rayStartParams"),
    ],
)
def test_kuberay_schema_refuses_a_broken_rayjob(breaks):
    job = _rayjob()
    breaks(job)
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(job, KUBERAY["RayJob"])


def test_pod_template_check_refuses_a_misspelt_container_field():
    template = _pod_templates(_rayjob())[0]
    template["spec"]["containers"][0]["volumeMount"] = []  # volumeMounts
    with pytest.raises(kv.ValidationError):
        _validate_k8s({"apiVersion": "v1", "kind": "PodTemplate", "metadata": {"name": "t"},
                       "template": template})  # fmt: skip


def test_kubernetes_schema_refuses_a_wrong_type():
    (svc, *_) = [d for _, d in K8S_DOCS if d["kind"] == "Service"]
    broken = yaml.safe_load(yaml.safe_dump(svc))
    broken["spec"]["ports"][0]["port"] = "five thousand"
    with pytest.raises(kv.ValidationError):
        _validate_k8s(broken)


# --- kustomization ----------------------------------------------------------------------------
def test_kustomization_lists_exactly_the_manifest_files():
    kust = yaml.safe_load((K8S / "kustomization.yaml").read_text())
    listed = kust["resources"]
    assert len(listed) == len(set(listed)), listed
    missing = [r for r in listed if not (K8S / r).is_file()]
    assert not missing, f"kustomization.yaml lists files that do not exist: {missing}"
    files = {p.name for p in K8S.glob("*.yaml")} - NOT_IN_KUSTOMIZATION
    assert set(listed) == files, f"not listed: {files - set(listed)}"


def test_kustomization_images_are_the_ones_the_manifests_use():
    kust = yaml.safe_load((K8S / "kustomization.yaml").read_text())
    named = {i["name"] for i in kust["images"]}
    used = set()
    for _, doc in DOCS:
        templates = (
            _pod_templates(doc) if doc["kind"] in KUBERAY
            else [doc["spec"]["template"]] if "template" in doc.get("spec", {}) else []
        )  # fmt: skip
        used |= {c["image"] for t in templates for c in t["spec"]["containers"]}
    assert used == named, f"images used {used}, set in kustomization.yaml {named}"
