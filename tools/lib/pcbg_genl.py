"""The "pcbgroup" generic netlink family (include/pcbg_netlink.h), in plain
Python: no pyroute2 on a stock Debian. Used by tools/pcbgjail and the
tests."""
import ctypes
import errno
import ipaddress
import os
import socket
import struct

NETLINK_GENERIC = 16
NETLINK_EXT_ACK = 11
NLMSG_ERROR, NLMSG_DONE = 2, 3
NLM_F_REQUEST, NLM_F_MULTI, NLM_F_ACK = 1, 2, 4
NLM_F_DUMP = 0x300
NLM_F_ACK_TLVS = 0x200
NLMSGERR_ATTR_MSG = 1
NLA_F_NESTED = 0x8000
GENL_ID_CTRL = 0x10
CTRL_CMD_GETFAMILY = 3
CTRL_ATTR_FAMILY_ID, CTRL_ATTR_FAMILY_NAME = 1, 2

# include/pcbg_netlink.h
CMD_NEW, CMD_SET, CMD_DEL, CMD_GET = 1, 2, 3, 4
(A_ID, A_NAME, A_CGROUP_FD, A_CGROUP_ID, A_CGROUP_PATH, A_VNET, A_ADDRS,
 A_ADDR4, A_ADDR6, A_SOCKETS, A_PAD, A_ATTACH) = range(1, 13)


CGROOT = "/sys/fs/cgroup"


def cgroup_root():
    """The cgroup v2 hierarchy, mounted where it should be. "ip netns exec"
    mounts a sysfs of the namespace over /sys, which hides it: mount it
    again there (that mount namespace is the command's own)."""
    with open("/proc/self/mounts") as f:
        for line in f:
            dev, where, kind = line.split()[:3]
            if kind == "cgroup2" and where == CGROOT:
                return CGROOT
    # Unprivileged, it fails; what needs it then fails with its own error.
    # mount(2) itself: no mount(8) started (and no subprocess imported)
    # for every command run under "ip netns exec".
    libc = ctypes.CDLL(None, use_errno=True)
    libc.mount(b"cgroup2", CGROOT.encode(), b"cgroup2", 0, None)
    return CGROOT


class NetlinkError(OSError):
    def __init__(self, err, msg):
        super().__init__(err, msg or os.strerror(err))
        self.extack = msg


def attr(kind, data, nested=False):
    hdr = struct.pack("HH", 4 + len(data), kind | (NLA_F_NESTED if nested else 0))
    return hdr + data + b"\0" * (-len(data) % 4)


def parse_attrs(buf):
    out = []
    while len(buf) >= 4:
        ln, kind = struct.unpack_from("HH", buf)
        if ln < 4:
            break
        out.append((kind & 0x3fff, buf[4:ln]))
        buf = buf[(ln + 3) & ~3:]
    return out


class Genl:
    def __init__(self, family="pcbgroup"):
        self.sock = socket.socket(socket.AF_NETLINK, socket.SOCK_RAW, NETLINK_GENERIC)
        self.sock.setsockopt(270, NETLINK_EXT_ACK, 1)  # SOL_NETLINK
        self.sock.bind((0, 0))
        self.seq = 0
        msgs = self.request(GENL_ID_CTRL, CTRL_CMD_GETFAMILY,
                            attr(CTRL_ATTR_FAMILY_NAME, family.encode() + b"\0"))
        self.family = None
        for kind, data in parse_attrs(msgs[0]):
            if kind == CTRL_ATTR_FAMILY_ID:
                self.family = struct.unpack("H", data[:2])[0]
        if self.family is None:
            raise NetlinkError(errno.ENOENT, "no family " + family)

    def close(self):
        self.sock.close()

    def request(self, kind, cmd, payload=b"", dump=False):
        """Send one request; return the attribute payloads of its replies."""
        self.seq += 1
        flags = NLM_F_REQUEST | NLM_F_ACK | (NLM_F_DUMP if dump else 0)
        body = struct.pack("BBH", cmd, 1, 0) + payload
        self.sock.send(struct.pack("IHHII", 16 + len(body), kind, flags, self.seq, 0) + body)
        out = []
        while True:
            data = self.sock.recv(1 << 20)
            while len(data) >= 16:
                ln, mtype, mflags, seq, _ = struct.unpack_from("IHHII", data)
                msg, data = data[16:ln], data[(ln + 3) & ~3:]
                if seq != self.seq:
                    continue
                if mtype == NLMSG_DONE:
                    return out
                if mtype == NLMSG_ERROR:
                    err = -struct.unpack_from("i", msg)[0]
                    if not err:
                        return out
                    text = None
                    if mflags & NLM_F_ACK_TLVS:
                        # The request is echoed after the error, unless capped.
                        olen = struct.unpack_from("I", msg, 4)[0]
                        off = 4 + (16 if mflags & 0x100 else olen)
                        for k, v in parse_attrs(msg[off:]):
                            if k == NLMSGERR_ATTR_MSG:
                                text = v.rstrip(b"\0").decode()
                    raise NetlinkError(err, text)
                out.append(msg[4:])


def prison_attrs(name=None, pid=None, cgroup_fd=None, vnet=None, addrs=None,
                 attach=False):
    p = attr(A_ATTACH, b"") if attach else b""
    if pid:
        p += attr(A_ID, struct.pack("I", pid))
    if name is not None:
        p += attr(A_NAME, name.encode() + b"\0")
    if cgroup_fd is not None:
        p += attr(A_CGROUP_FD, struct.pack("i", cgroup_fd))
    if vnet is not None:
        p += attr(A_VNET, struct.pack("B", int(vnet)))
    if addrs is not None:
        nest = b""
        for a in addrs:
            ip = ipaddress.ip_address(a)
            nest += attr(A_ADDR4 if ip.version == 4 else A_ADDR6, ip.packed)
        p += attr(A_ADDRS, nest, nested=True)
    return p


def decode(payload):
    pr = {"addrs": []}
    for kind, data in parse_attrs(payload):
        if kind == A_ID:
            pr["id"] = struct.unpack("I", data)[0]
        elif kind == A_NAME:
            pr["name"] = data.rstrip(b"\0").decode()
        elif kind == A_CGROUP_ID:
            pr["cgroup_id"] = struct.unpack("Q", data)[0]
        elif kind == A_CGROUP_PATH:
            pr["cgroup"] = data.rstrip(b"\0").decode()
        elif kind == A_VNET:
            pr["vnet"] = bool(data[0])
        elif kind == A_SOCKETS:
            pr["sockets"] = struct.unpack("I", data)[0]
        elif kind == A_ATTACH:
            pr["attached"] = True
        elif kind == A_ADDRS:
            for k, v in parse_attrs(data):
                pr["addrs"].append(str(ipaddress.ip_address(v)))
    return pr


class Prisons:
    """Prisons of the calling process's network namespace."""

    def __init__(self):
        self.nl = Genl()

    def close(self):
        self.nl.close()

    def _one(self, cmd, payload):
        msgs = self.nl.request(self.nl.family, cmd, payload)
        return decode(msgs[0]) if msgs else None

    @staticmethod
    def _key(key):
        if isinstance(key, int) or str(key).isdigit():
            return {"pid": int(key)}
        return {"name": key}

    def create(self, name, cgroup, addrs=(), vnet=False, pid=None, attach=False):
        """attach: the cgroup may have processes already (their sockets
        keep the kernel's calls)."""
        fd = os.open(cgroup, os.O_RDONLY | os.O_DIRECTORY)
        try:
            return self._one(CMD_NEW, prison_attrs(name=name, pid=pid, cgroup_fd=fd,
                                                   vnet=vnet, addrs=list(addrs),
                                                   attach=attach))
        finally:
            os.close(fd)

    def change(self, key, addrs=None, vnet=None):
        return self._one(CMD_SET, prison_attrs(vnet=vnet, addrs=addrs, **self._key(key)))

    def destroy(self, key):
        self.nl.request(self.nl.family, CMD_DEL, prison_attrs(**self._key(key)))

    def get(self, key):
        return self._one(CMD_GET, prison_attrs(**self._key(key)))

    def list(self):
        return [decode(m) for m in self.nl.request(self.nl.family, CMD_GET, dump=True)]
