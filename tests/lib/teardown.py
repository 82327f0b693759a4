#!/usr/bin/python3
"""Unloads racing namespace teardown, ROUNDS times (tests/teardown.sh).

Each round: insmod; three namespaces (client - router - server over veth,
the differential "forward" scenario's shape) made with one `ip -batch`;
TCP and UDP messages forwarded through the router and counted at both
ends; raw (GRE, ICMP, IPv6 GRE), ping and connected UDP sockets held in
the router and the server; then everything closed, the namespaces
deleted (cleanup_net() runs in a worker, closing each namespace's kernel
sockets through the module's probes) and the module unloaded at once:
on odd rounds delete then unload, on even rounds unload then delete.

  teardown.py --ko KO --rounds N
Prints "rounds=N messages=M lost=L".
"""
import argparse
import socket
import subprocess

from common import Netns  # tests/lib/, the script's directory

C, R, S = "pcbg-td-c", "pcbg-td-r", "pcbg-td-s"
SETUP = {
    None: "netns add {C}\nnetns add {R}\nnetns add {S}\n"
          "link add v0 netns {C} type veth peer name v1 netns {R}\n"
          "link add v2 netns {R} type veth peer name v3 netns {S}\n",
    C: "addr add 198.51.100.2/24 dev v0\nlink set v0 up\nlink set lo up\n"
       "route add default via 198.51.100.1\n",
    R: "addr add 198.51.100.1/24 dev v1\naddr add 203.0.113.1/24 dev v2\n"
       "link set v1 up\nlink set v2 up\nlink set lo up\n",
    S: "addr add 203.0.113.2/24 dev v3\nlink set v3 up\nlink set lo up\n"
       "route add default via 203.0.113.1\n",
}
DELETE = "netns del %s\nnetns del %s\nnetns del %s\n" % (C, R, S)


def ip_batch(text, ns=None):
    """Commands for ip(8), one exec (in namespace ns: -n is no batch word)."""
    subprocess.run(["ip"] + (["-n", ns] if ns else []) + ["-batch", "-"],
                   input=text.format(C=C, R=R, S=S).encode(), check=True)


def held(ns):
    """Sockets of every kind the module follows, in namespace ns."""
    with Netns(ns):
        with open("/proc/sys/net/ipv4/ping_group_range", "w") as f:
            f.write("0 2147483647")
        ss = [socket.socket(socket.AF_INET, socket.SOCK_RAW, 47),
              socket.socket(socket.AF_INET, socket.SOCK_RAW,
                            socket.IPPROTO_ICMP),
              socket.socket(socket.AF_INET6, socket.SOCK_RAW, 47),
              socket.socket(socket.AF_INET, socket.SOCK_DGRAM,
                            socket.IPPROTO_ICMP)]
        ss[0].connect(("198.51.100.2", 0))
        u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        u.connect(("198.51.100.2", 9))
        ss.append(u)
    return ss


def traffic(n):
    """n TCP and n UDP messages from the client to the server, forwarded;
    returns how many came back."""
    with Netns(S):
        lt = socket.socket()
        lt.bind(("203.0.113.2", 7000))
        lt.listen(8)
        lu = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        lu.bind(("203.0.113.2", 7001))
    with Netns(C):
        ct = socket.create_connection(("203.0.113.2", 7000), timeout=20)
        cu = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        cu.settimeout(20)
        cu.connect(("203.0.113.2", 7001))
    lt.settimeout(20)
    lu.settimeout(20)
    st, _ = lt.accept()
    st.settimeout(20)
    back = 0
    for i in range(n):
        msg = b"m%d" % i
        ct.sendall(msg)
        st.sendall(st.recv(64))
        back += ct.recv(64) == msg
        cu.send(msg)
        data, peer = lu.recvfrom(64)
        lu.sendto(data, peer)
        back += cu.recv(64) == msg
    for s in (ct, cu, st, lt, lu):
        s.close()
    return back


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--ko", required=True)
    ap.add_argument("--rounds", type=int, default=10)
    a = ap.parse_args()
    msgs = back = 0
    for r in range(1, a.rounds + 1):
        subprocess.run(["insmod", a.ko, "soft_hash=1", "verify=1"], check=True)
        for ns in (None, C, R, S):
            ip_batch(SETUP[ns], ns)
        with Netns(R):
            with open("/proc/sys/net/ipv4/ip_forward", "w") as f:
                f.write("1")
        hold = held(R) + held(S)
        back += traffic(5)
        msgs += 10
        for s in hold:
            s.close()
        if r % 2:
            ip_batch(DELETE)
            subprocess.run(["rmmod", "pcbgroup"], check=True)
        else:
            subprocess.run(["rmmod", "pcbgroup"], check=True)
            ip_batch(DELETE)
    print("rounds=%d messages=%d lost=%d" % (a.rounds, msgs, msgs - back))


if __name__ == "__main__":
    main()
