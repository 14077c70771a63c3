"""A real single-node Kubernetes inside a network namespace of its own, for the chaos suite.

``Cluster`` runs etcd, kube-apiserver, kube-controller-manager, kube-scheduler, containerd,
kubelet and kube-proxy (Kubernetes 1.20.2 built by ``scripts/cluster-setup``) as processes in
the network namespace it creates, so the API server, the node and every pod and Service
address exist only there: traffic to them is traffic to our own test hosts. Its kubeconfig
is written to the run folder; every command against the cluster (kubectl, ``chaos run``) is
run inside the namespace with :meth:`Cluster.command`. Needs root.
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import subprocess
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import psutil
import yaml

from hive_resilience.infra import images
from hive_resilience.paths import REPO_ROOT
from hive_resilience.processes import (
    ComponentProcess,
    kill_processes,
    process_tree,
    start_logged,
    terminate_processes,
)

KUBERNETES_VERSION = "1.20.2"
CACHE = Path(os.environ.get("HIVE_RESILIENCE_CACHE", "/var/cache/hive-resilience"))
KUBERNETES_BIN = CACHE / f"kubernetes-{KUBERNETES_VERSION}" / "bin"
BUILT_KUBECTL = KUBERNETES_BIN / "kubectl"
"""The kubectl scripts/cluster-setup builds: the only one a fresh machine has."""
NAMESPACE_NAME = "hive-resilience-k8s"
NODE_NAME = "hive-resilience-node"
NODE_ADDRESS = "10.213.0.1"
SERVICE_RANGE = "10.214.0.0/24"
POD_RANGE = "10.215.0.0/24"
PAUSE_IMAGE = "k8s.gcr.io/pause:3.2"
STATE_FILE = "cluster.json"
COMPONENTS = ("etcd", "kube-apiserver", "kube-controller-manager", "kube-scheduler", "containerd", "kubelet",
              "kube-proxy")
"""Start order; stop order is the reverse."""
HIVE_MANIFESTS = REPO_ROOT / "deploy" / "hive" / "overlays" / "local"
HIVE_NAMESPACE = "hive"
HIVE_DEPLOYMENTS = ("hive-llm-stub", "hive-tools", "hive-api")
READY_TIMEOUT_S = 120.0
STOP_GRACE_S = 10.0
SHIM_REAP_TIMEOUT_S = 10.0


class ClusterError(RuntimeError):
    """The cluster cannot be brought up, reached or taken down; the message says what to do."""


@dataclass
class ClusterState:
    netns: str
    started_at: float = 0.0
    ready_after_s: float = 0.0
    components: dict[str, ComponentProcess] = field(default_factory=dict)

    def save(self, path: Path) -> None:
        data = {**asdict(self), "components": {name: asdict(c) for name, c in self.components.items()}}
        path.write_text(json.dumps(data, indent=2))

    @classmethod
    def load(cls, path: Path) -> ClusterState:
        data = json.loads(path.read_text())
        components = {name: ComponentProcess(**c) for name, c in data.pop("components").items()}
        return cls(**data, components=components)


class Cluster:
    """The single-node cluster whose files live in ``run_dir``. ``up()`` / ``down()`` / ``status()``."""

    def __init__(self, run_dir: Path, netns: str = NAMESPACE_NAME):
        self.run_dir = Path(run_dir).resolve()
        self.netns = netns
        self.state = ClusterState(netns)

    @property
    def kubeconfig(self) -> Path:
        return self.run_dir / "kubeconfig"

    @property
    def state_path(self) -> Path:
        return self.run_dir / STATE_FILE

    @property
    def containerd_socket(self) -> Path:
        return self.run_dir / "containerd" / "containerd.sock"

    @classmethod
    def attach(cls, run_dir: Path) -> Cluster:
        state_path = Path(run_dir) / STATE_FILE
        if not state_path.is_file():
            raise ClusterError(f"no cluster was brought up in {run_dir} (no {STATE_FILE} there)")
        state = ClusterState.load(state_path)
        cluster = cls(run_dir, state.netns)
        cluster.state = state
        return cluster

    # --- bring-up ---------------------------------------------------------------------------

    def up(self, progress=print) -> float:
        """Bring the cluster up and wait until its node is Ready; returns the seconds it took."""
        require_root()
        binaries = cached_binaries()
        if self.state_path.is_file() and any(c.process() for c in ClusterState.load(self.state_path).components.values()):
            raise ClusterError(f"a cluster from {self.run_dir} is still running; run `hive-resilience cluster down` first")
        if Path(f"/run/netns/{self.netns}").exists():
            raise ClusterError(f"network namespace {self.netns} exists already; run `hive-resilience cluster down` first")
        started = time.monotonic()
        self.state = ClusterState(self.netns, started_at=time.time())
        try:
            self._write_files()
            self._create_namespace()
            for component in COMPONENTS:
                self._start(component, binaries)
                self._wait_for(component)
                if component == "containerd":
                    self._import_images(progress)
                progress(f"{component}: up ({time.monotonic() - started:.0f} s)")
            self._wait_for_node_ready()
        except BaseException:
            self.down()
            raise
        self.state.ready_after_s = time.monotonic() - started
        self.state.save(self.state_path)
        return self.state.ready_after_s

    def _write_files(self) -> None:
        # Every bring-up starts empty: no objects, images or pods from an earlier run.
        for stale in ("etcd", "containerd", "kubelet", "cni", "pki", "pause-rootfs"):
            shutil.rmtree(self.run_dir / stale, ignore_errors=True)
        for folder in ("logs", "pki", "etcd", "containerd", "kubelet", "cni/net.d", "cni/ipam"):
            (self.run_dir / folder).mkdir(parents=True, exist_ok=True)
        token = secrets.token_hex(16)
        (self.run_dir / "pki" / "tokens.csv").write_text(f"{token},admin,admin,system:masters\n")
        os.chmod(self.run_dir / "pki" / "tokens.csv", 0o600)
        key = self.run_dir / "pki" / "service-accounts.key"
        _run(["openssl", "genrsa", "-out", str(key), "2048"])
        _run(["openssl", "rsa", "-in", str(key), "-pubout", "-out", str(key.with_suffix(".pub"))])
        self._write_kubelet_client_certificate()
        self.kubeconfig.write_text(_kubeconfig(token))
        os.chmod(self.kubeconfig, 0o600)
        (self.run_dir / "containerd" / "config.toml").write_text(_containerd_config(self.run_dir))
        (self.run_dir / "kubelet" / "config.yaml").write_text(_kubelet_config(self.run_dir / "pki" / "kubelet-ca.crt"))
        (self.run_dir / "cni" / "net.d" / "10-hive-resilience.conflist").write_text(_cni_config(self.run_dir))

    def _write_kubelet_client_certificate(self) -> None:
        """A CA the kubelet trusts and the API server's client certificate from it: ``kubectl logs``,
        ``exec`` and ``cp`` go through the kubelet, which answers no anonymous request."""
        pki = self.run_dir / "pki"
        ca, client = pki / "kubelet-ca", pki / "apiserver-kubelet-client"
        _run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "7", "-subj",
              "/CN=hive-resilience-kubelet-ca", "-keyout", f"{ca}.key", "-out", f"{ca}.crt"])
        _run(["openssl", "req", "-newkey", "rsa:2048", "-nodes", "-subj", "/O=system:masters/CN=kube-apiserver",
              "-keyout", f"{client}.key", "-out", f"{client}.csr"])
        _run(["openssl", "x509", "-req", "-days", "7", "-in", f"{client}.csr", "-CA", f"{ca}.crt", "-CAkey",
              f"{ca}.key", "-CAcreateserial", "-out", f"{client}.crt"])

    def _create_namespace(self) -> None:
        ns = self.netns
        _run(["ip", "netns", "add", ns])
        for command in (
            ["ip", "link", "set", "lo", "up"],
            # A veth pair with both ends inside: the node's non-loopback address, reachable only here.
            ["ip", "link", "add", "hrk-node", "type", "veth", "peer", "name", "hrk-peer"],
            ["ip", "addr", "add", f"{NODE_ADDRESS}/24", "dev", "hrk-node"],
            ["ip", "link", "set", "hrk-node", "up"],
            ["ip", "link", "set", "hrk-peer", "up"],
            ["ip", "route", "add", "default", "dev", "hrk-node"],
            ["sysctl", "-qw", "net.ipv4.ip_forward=1"],
        ):
            _run(self.command(command))

    def command(self, argv: list[str]) -> list[str]:
        """``argv`` run inside the cluster's network namespace (nsenter, not ``ip netns exec``,
        which remounts /sys and breaks the container runtime)."""
        return ["nsenter", f"--net=/run/netns/{self.netns}", *argv]

    def _argv(self, component: str, binaries: dict[str, Path]) -> list[str]:
        run, pki = self.run_dir, self.run_dir / "pki"
        kubeconfig = str(self.kubeconfig)
        return {
            "etcd": [str(binaries["etcd"]), "--data-dir", str(run / "etcd"), "--listen-client-urls",
                     "http://127.0.0.1:2379", "--advertise-client-urls", "http://127.0.0.1:2379",
                     "--listen-peer-urls", "http://127.0.0.1:2380"],
            "kube-apiserver": [
                str(binaries["kube-apiserver"]), "--etcd-servers=http://127.0.0.1:2379", "--bind-address=127.0.0.1",
                "--secure-port=6443", "--insecure-port=0", f"--advertise-address={NODE_ADDRESS}",
                f"--token-auth-file={pki / 'tokens.csv'}", "--authorization-mode=Node,RBAC",
                f"--service-cluster-ip-range={SERVICE_RANGE}", f"--cert-dir={pki / 'apiserver'}",
                "--service-account-issuer=https://kubernetes.default.svc",
                f"--service-account-key-file={pki / 'service-accounts.pub'}",
                f"--service-account-signing-key-file={pki / 'service-accounts.key'}", "--allow-privileged=true",
                # The node's name resolves nowhere: reach its kubelet by address, with a client certificate.
                "--kubelet-preferred-address-types=InternalIP",
                f"--kubelet-client-certificate={pki / 'apiserver-kubelet-client.crt'}",
                f"--kubelet-client-key={pki / 'apiserver-kubelet-client.key'}",
            ],
            "kube-controller-manager": [
                str(binaries["kube-controller-manager"]), f"--kubeconfig={kubeconfig}", "--leader-elect=false",
                "--port=0", "--bind-address=127.0.0.1", "--use-service-account-credentials=false",
                f"--service-account-private-key-file={pki / 'service-accounts.key'}",
            ],
            "kube-scheduler": [str(binaries["kube-scheduler"]), f"--kubeconfig={kubeconfig}", "--leader-elect=false",
                               "--port=0", "--bind-address=127.0.0.1"],
            "containerd": ["containerd", "--config", str(run / "containerd" / "config.toml")],
            "kubelet": [
                str(binaries["kubelet"]), f"--config={run / 'kubelet' / 'config.yaml'}", f"--kubeconfig={kubeconfig}",
                "--container-runtime=remote", f"--container-runtime-endpoint=unix://{self.containerd_socket}",
                f"--root-dir={run / 'kubelet' / 'root'}", f"--cert-dir={run / 'kubelet' / 'pki'}",
                f"--hostname-override={NODE_NAME}", f"--node-ip={NODE_ADDRESS}",
                f"--pod-infra-container-image={PAUSE_IMAGE}",
            ],
            "kube-proxy": [
                str(binaries["kube-proxy"]), f"--kubeconfig={kubeconfig}", "--proxy-mode=iptables",
                # Pod-to-Service replies must come back through the DNAT: masquerade everything.
                "--masquerade-all=true", f"--cluster-cidr={POD_RANGE}", f"--hostname-override={NODE_NAME}",
                "--healthz-bind-address=127.0.0.1:10256", "--metrics-bind-address=127.0.0.1:10249",
                "--conntrack-max-per-core=0",
            ],
        }[component]

    def _start(self, component: str, binaries: dict[str, Path]) -> None:
        log_path = self.run_dir / "logs" / f"{component}.log"
        _, recorded = start_logged(self.command(self._argv(component, binaries)), log_path, self.run_dir)
        self.state.components[component] = recorded
        self.state.save(self.state_path)

    def _wait_for(self, component: str) -> None:
        checks = {
            "etcd": ["curl", "-sf", "http://127.0.0.1:2379/health"],
            "kube-apiserver": self.kubectl_argv("get", "--raw", "/readyz"),
            "kube-controller-manager": self.kubectl_argv("get", "serviceaccount", "default", "-n", "default"),
            "kube-scheduler": ["curl", "-skf", "https://127.0.0.1:10259/healthz"],
            "containerd": ["ctr", "--address", str(self.containerd_socket), "version"],
            "kubelet": ["curl", "-sf", "http://127.0.0.1:10248/healthz"],
            "kube-proxy": ["curl", "-sf", "http://127.0.0.1:10256/healthz"],
        }
        self._wait_until(component, lambda: _succeeds(self.command(checks[component])))

    def _wait_until(self, component: str, ready, timeout_s: float = READY_TIMEOUT_S) -> None:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            recorded = self.state.components.get(component)
            if recorded is not None and recorded.process() is None:
                raise ClusterError(f"{component} exited during start-up; see {recorded.log}")
            if ready():
                return
            time.sleep(0.5)
        raise ClusterError(f"{component} not ready within {timeout_s:.0f} s; see {self.run_dir / 'logs' / component}.log")

    def _import_images(self, progress) -> None:
        """The target's images, the Locust image and the pause image, from Docker into the cluster's containerd."""
        tags = [f"{images.IMAGE_PREFIX}/{name}:latest" for name in images.CLUSTER_IMAGES]
        for tag in tags:
            if not images.image_exists(tag):
                raise ClusterError(f"image {tag} is not built: run `hive-resilience images build`")
        progress("importing the images into the cluster's containerd")
        pause = KUBERNETES_BIN / "pause"
        rootfs = self.run_dir / "pause-rootfs"
        rootfs.mkdir(exist_ok=True)
        shutil.copy2(pause, rootfs / "pause")
        _run(["sh", "-c", f"tar -C {rootfs} -c pause | docker import -c 'ENTRYPOINT [\"/pause\"]' - {PAUSE_IMAGE}"])
        ctr = ["ctr", "--address", str(self.containerd_socket), "-n", "k8s.io", "images", "import", "-"]
        saved = subprocess.Popen(["docker", "save", PAUSE_IMAGE, *tags], stdout=subprocess.PIPE)
        imported = subprocess.run(ctr, stdin=saved.stdout, capture_output=True, text=True, timeout=600)
        saved.stdout.close()
        if saved.wait(timeout=60) != 0 or imported.returncode != 0:
            raise ClusterError(f"importing images into containerd failed: {imported.stderr.strip()[-300:]}")

    def _wait_for_node_ready(self) -> None:
        def node_ready() -> bool:
            done = subprocess.run(self.command(self.kubectl_argv(
                "get", "node", NODE_NAME, "-o", "jsonpath={.status.conditions[?(@.type=='Ready')].status}")),
                capture_output=True, text=True)
            return done.stdout.strip() == "True"

        self._wait_until("kubelet", node_ready)

    # --- use --------------------------------------------------------------------------------

    def kubectl_argv(self, *arguments: str) -> list[str]:
        """kubectl with this cluster's kubeconfig and nothing else (no other configuration is read)."""
        return [kubectl_binary(), f"--kubeconfig={self.kubeconfig}", *arguments]

    def kubectl(self, *arguments: str, timeout_s: float = 120) -> str:
        done = subprocess.run(self.command(self.kubectl_argv(*arguments)), capture_output=True, text=True,
                              timeout=timeout_s)
        if done.returncode != 0:
            raise ClusterError(f"kubectl {' '.join(arguments[:3])} failed: {_last_line(done.stderr)}")
        return done.stdout

    def environment(self) -> dict[str, str]:
        """Environment for tools run inside the namespace: our kubeconfig, never another one."""
        return {**os.environ, "KUBECONFIG": str(self.kubeconfig)}

    def status(self) -> dict[str, dict]:
        self.refresh()
        report = {}
        for component in COMPONENTS:
            recorded = self.state.components.get(component)
            report[component] = {"pid": recorded.pid if recorded else None,
                                 "running": bool(recorded and recorded.process()),
                                 "log": recorded.log if recorded else None}
        return report

    def memory_bytes(self) -> int:
        """Resident memory of the cluster's own processes (pods excluded)."""
        total = 0
        for recorded in self.state.components.values():
            process = recorded.process()
            if process is not None:
                try:
                    total += process.memory_info().rss
                except psutil.NoSuchProcess:
                    continue
        return total

    def refresh(self) -> None:
        if self.state_path.is_file():
            self.state = ClusterState.load(self.state_path)

    # --- take-down --------------------------------------------------------------------------

    def down(self) -> None:
        """Stop everything the cluster started (pods included), unmount, remove the namespace."""
        self.refresh()
        for component in reversed(COMPONENTS):
            if component == "containerd":
                self._stop_pods()
            recorded = self.state.components.get(component)
            if recorded is not None:
                _stop_group(recorded)
        self._stop_pods()
        self._unmount()
        self._remove_pod_leftovers()
        if Path(f"/run/netns/{self.netns}").exists():
            subprocess.run(["ip", "netns", "del", self.netns], capture_output=True)
        self.state.components.clear()
        if self.state_path.exists():
            self.state.save(self.state_path)

    def _stop_pods(self) -> None:
        """Containers run under shims that outlive containerd: find ours by their socket address."""
        marker = str(self.containerd_socket)
        for process in psutil.process_iter(["cmdline"]):
            cmdline = process.info["cmdline"] or []
            if cmdline and "containerd-shim" in cmdline[0] and marker in " ".join(cmdline):
                kill_processes(process_tree(process), reap_timeout_s=SHIM_REAP_TIMEOUT_S)

    def _remove_pod_leftovers(self) -> None:
        """What the runtime leaves when it is stopped under its pods: their network namespaces
        (``/run/netns/cni-*``) and the kubelet's hard-coded ``/var/log`` entries. Only entries
        made since this cluster started, for its own pods, are touched."""
        since = self.state.started_at
        if not since:
            return
        for netns in Path("/run/netns").glob("cni-*"):
            if netns.lstat().st_mtime >= since:
                subprocess.run(["ip", "netns", "del", netns.name], capture_output=True)
        logs = [*Path("/var/log/pods").glob(f"{HIVE_NAMESPACE}_*"),
                *Path("/var/log/containers").glob(f"*_{HIVE_NAMESPACE}_*")]
        for entry in logs:
            if entry.lstat().st_mtime >= since:
                shutil.rmtree(entry) if entry.is_dir() and not entry.is_symlink() else entry.unlink()

    def _unmount(self) -> None:
        with open("/proc/mounts") as mounts:
            ours = [line.split()[1] for line in mounts if line.split()[1].startswith(str(self.run_dir))]
        for mount_point in sorted(ours, key=len, reverse=True):
            subprocess.run(["umount", "-l", mount_point], capture_output=True)


def require_root() -> None:
    if os.geteuid() != 0:
        raise ClusterError("the cluster needs root (network namespace, containerd, kubelet): run as root or with sudo")


def cached_binaries() -> dict[str, Path]:
    """The cached binaries; a clear error naming the setup script when any is missing."""
    found = {name: KUBERNETES_BIN / name for name in ("kube-apiserver", "kube-controller-manager", "kube-scheduler",
                                                       "kubelet", "kube-proxy", "kubectl", "pause")}
    found["etcd"] = CACHE / "etcd" / "usr" / "bin" / "etcd"
    missing = [name for name, path in found.items() if not os.access(path, os.X_OK)]
    missing += [tool for tool in ("containerd", "ctr", "nsenter", "ip", "iptables", "openssl", "curl")
                if shutil.which(tool) is None]
    if missing:
        raise ClusterError(f"missing {', '.join(missing)}: run `bash scripts/cluster-setup` "
                           f"(builds Kubernetes {KUBERNETES_VERSION} into {CACHE}, about 10 minutes)")
    return found


def kubectl_binary() -> str:
    """The kubectl to run: the one scripts/cluster-setup built when it is cached, else the one on PATH.

    The built one (1.20.2, bundling kustomize v2.0.3) comes first even when a newer kubectl is on
    PATH, so that the manifests are rendered and applied here as on a fresh machine: a newer
    kustomize accepts fields (``labels``, ``patches``) that v2.0.3 rejects.
    """
    if os.access(BUILT_KUBECTL, os.X_OK):
        return str(BUILT_KUBECTL)
    on_path = shutil.which("kubectl")
    if on_path is None:
        raise ClusterError(f"kubectl is missing: run `bash scripts/cluster-setup kubectl` "
                           f"(builds kubectl {KUBERNETES_VERSION} into {BUILT_KUBECTL.parent})")
    return on_path


def render_kustomization(directory: Path) -> list[dict]:
    """``kubectl kustomize directory`` with :func:`kubectl_binary`, as parsed documents.

    What ``kubectl apply -k`` would send, so the manifests can be checked without a cluster by the
    same kubectl that applies them.
    """
    done = subprocess.run([kubectl_binary(), "kustomize", str(directory)], capture_output=True, text=True,
                          timeout=60, check=False)
    if done.returncode != 0:
        raise ClusterError(f"kubectl kustomize {directory} failed: {_last_line(done.stderr)}")
    return [document for document in yaml.safe_load_all(done.stdout) if document]


def _kubeconfig(token: str) -> str:
    # The API server's certificate is self-signed and reachable only inside the namespace.
    return f"""apiVersion: v1
kind: Config
clusters:
- name: hive-resilience
  cluster: {{server: "https://127.0.0.1:6443", insecure-skip-tls-verify: true}}
users:
- name: admin
  user: {{token: "{token}"}}
contexts:
- name: hive-resilience
  context: {{cluster: hive-resilience, user: admin}}
current-context: hive-resilience
"""


def _containerd_config(run_dir: Path) -> str:
    base = run_dir / "containerd"
    return f"""version = 2
root = "{base / 'root'}"
state = "{base / 'state'}"
[grpc]
  address = "{base / 'containerd.sock'}"
[ttrpc]
  address = "{base / 'containerd.sock.ttrpc'}"
[plugins."io.containerd.grpc.v1.cri"]
  sandbox_image = "{PAUSE_IMAGE}"
  disable_apparmor = true
  restrict_oom_score_adj = true
  [plugins."io.containerd.grpc.v1.cri".containerd]
    snapshotter = "overlayfs"
    default_runtime_name = "runc"
    [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc]
      runtime_type = "io.containerd.runc.v2"
      [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc.options]
        SystemdCgroup = false
  [plugins."io.containerd.grpc.v1.cri".cni]
    bin_dir = "/usr/lib/cni"
    conf_dir = "{run_dir / 'cni' / 'net.d'}"
"""


def _kubelet_config(client_ca: Path) -> str:
    # The node's address, where the API server reaches it; only the namespace has that address.
    return f"""apiVersion: kubelet.config.k8s.io/v1beta1
kind: KubeletConfiguration
address: {NODE_ADDRESS}
readOnlyPort: 0
healthzBindAddress: 127.0.0.1
healthzPort: 10248
cgroupDriver: cgroupfs
cgroupsPerQOS: false
enforceNodeAllocatable: []
failSwapOn: false
resolvConf: ""
authentication: {{anonymous: {{enabled: false}}, webhook: {{enabled: false}}, x509: {{clientCAFile: "{client_ca}"}}}}
authorization: {{mode: AlwaysAllow}}
evictionHard: {{memory.available: 100Mi, nodefs.available: 1%, imagefs.available: 1%, nodefs.inodesFree: 1%}}
serializeImagePulls: false
"""


def _cni_config(run_dir: Path) -> str:
    return json.dumps({
        "cniVersion": "0.4.0",
        "name": "hive-resilience",
        "plugins": [
            {"type": "bridge", "bridge": "hrk-cni0", "isGateway": True, "ipMasq": False, "hairpinMode": True,
             "ipam": {"type": "host-local", "subnet": POD_RANGE, "routes": [{"dst": "0.0.0.0/0"}],
                      "dataDir": str(run_dir / "cni" / "ipam")}},
            {"type": "portmap", "capabilities": {"portMappings": True}},
        ],
    }, indent=2)


def _run(argv: list[str]) -> None:
    done = subprocess.run(argv, capture_output=True, text=True, timeout=300)
    if done.returncode != 0:
        raise ClusterError(f"{' '.join(argv[:4])} failed: {_last_line(done.stderr)}")


def _succeeds(argv: list[str]) -> bool:
    return subprocess.run(argv, capture_output=True, timeout=30).returncode == 0


def _last_line(text: str) -> str:
    lines = text.strip().splitlines()
    return lines[-1] if lines else "no message"


def _stop_group(recorded: ComponentProcess) -> None:
    """SIGTERM the component and its children, SIGKILL what is left after the grace period."""
    process = recorded.process()
    if process is not None:
        terminate_processes(process_tree(process), STOP_GRACE_S)


def deploy_hive(cluster: Cluster, timeout_s: float = 300) -> float:
    """Apply deploy/hive/overlays/local and wait until every deployment rolled out; returns seconds."""
    started = time.monotonic()
    cluster.kubectl("apply", "-k", str(HIVE_MANIFESTS))
    for deployment in HIVE_DEPLOYMENTS:
        cluster.kubectl("rollout", "status", f"deployment/{deployment}", "-n", HIVE_NAMESPACE,
                        f"--timeout={int(timeout_s)}s", timeout_s=timeout_s + 30)
    return time.monotonic() - started


def service_urls(cluster: Cluster) -> dict[str, str]:
    """Cluster IP URLs of the Hive API and the tools server, reachable inside the namespace only."""
    urls = {}
    for service, key in (("hive-api", "hive_api_url"), ("hive-tools", "mcp_url")):
        found = json.loads(cluster.kubectl("get", "service", service, "-n", HIVE_NAMESPACE, "-o", "json"))
        urls[key] = f"http://{found['spec']['clusterIP']}:{found['spec']['ports'][0]['port']}"
    return urls
