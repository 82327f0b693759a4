"""An OCI bundle's config.json for tests/oci.sh, from the runtime's own
"RUNTIME spec": a host-network container (no network namespace) running
SCRIPT with /bin/sh in a read-only busybox root.

  oci_bundle.py SPEC OUT SCRIPT [--userns] [--hook PATH] [--cap CAP]
                [--ann KEY=VALUE]... [--hook-env K=V]... [--root DIR]
"""
import argparse
import json

p = argparse.ArgumentParser()
p.add_argument("spec")
p.add_argument("out")
p.add_argument("script")
p.add_argument("--userns", action="store_true")
p.add_argument("--hook")
p.add_argument("--hook-env", action="append", default=[])
p.add_argument("--root", default="rootfs")
p.add_argument("--cap", action="append", default=[])
p.add_argument("--ann", action="append", default=[])
a = p.parse_args()

with open(a.spec) as f:
    c = json.load(f)
c["root"] = {"path": a.root, "readonly": True}
c["process"]["terminal"] = False
c["process"]["args"] = ["/bin/sh", "-c", a.script]
lx = c["linux"]
lx["namespaces"] = [n for n in lx["namespaces"] if n["type"] != "network"]
if a.userns:
    lx["namespaces"].append({"type": "user"})
    lx["uidMappings"] = [{"containerID": 0, "hostID": 100000, "size": 65536}]
    lx["gidMappings"] = [{"containerID": 0, "hostID": 100000, "size": 65536}]
    # sysfs belongs to the host's network namespace: not mountable from
    # another user namespace; the container needs none.
    c["mounts"] = [m for m in c["mounts"]
                   if m["destination"] not in ("/sys", "/sys/fs/cgroup")]
for cap in a.cap:
    for kind in ("bounding", "effective", "permitted"):
        c["process"]["capabilities"].setdefault(kind, []).append(cap)
c["annotations"] = dict(kv.split("=", 1) for kv in a.ann)
if a.hook:
    c["hooks"] = {stage: [{"path": a.hook, "args": [a.hook, stage],
                           "env": a.hook_env + ["PATH=/usr/sbin:/usr/bin:/sbin:/bin"]}]
                  for stage in ("createRuntime", "poststop")}
with open(a.out, "w") as f:
    json.dump(c, f, indent=1)
