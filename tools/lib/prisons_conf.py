"""prisons.conf(5): pcbgroup's prisons as FreeBSD's jail.conf(5) writes
jails, one block a prison:

    # comment
    web {
        jid = 10;
        ip4.addr = 192.0.2.11, 192.0.2.12;
        ip6.addr = 2001:db8::11;
        cgroup = /sys/fs/cgroup/system.slice/web.service;
        vnet = false;
    }

parse() reads the whole file and checks every block before anything is
made: a bad file raises ConfError with FILE:LINE and the reason.
"""
import ipaddress
import re

PARAMS = ("jid", "ip4.addr", "ip6.addr", "cgroup", "vnet")
NAME = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.-]{0,15}$")
WORD = re.compile(r'[^\s{};=,"#]+')


class ConfError(Exception):
    pass


def tokens(text, path):
    """(line, kind, value): kind 'word', 'str' or the punctuation itself."""
    pos, line, n = 0, 1, len(text)
    while True:
        while pos < n and text[pos].isspace():
            line += text[pos] == "\n"
            pos += 1
        if pos >= n:
            return
        c = text[pos]
        if c == "#":
            end = text.find("\n", pos)
            pos = n if end < 0 else end
        elif c in "{};=,":
            yield line, c, c
            pos += 1
        elif c == '"':
            end = text.find('"', pos + 1)
            if end < 0 or "\n" in text[pos:end]:
                raise ConfError("%s:%d: unterminated string" % (path, line))
            yield line, "str", text[pos + 1:end]
            pos = end + 1
        else:
            m = WORD.match(text, pos)
            yield line, "word", m.group(0)
            pos = m.end()


def value(key, vals, line, path):
    """A parameter's value checked: what pcbgjail create takes."""
    where = "%s:%d: %s" % (path, line, key)
    if key == "jid":
        if len(vals) != 1 or not vals[0].isdigit() or not 0 < int(vals[0]) < 2 ** 31:
            raise ConfError("%s: a positive number, not %s" % (where, ", ".join(vals)))
        return vals[0]
    if key in ("ip4.addr", "ip6.addr"):
        want = 4 if key == "ip4.addr" else 6
        vals = [v for v in vals if v]      # "": none of the family
        for v in vals:
            try:
                a = ipaddress.ip_address(v)
            except ValueError:
                raise ConfError("%s: %r is not an address" % (where, v))
            if a.version != want:
                raise ConfError("%s: %r is not an IPv%d address" % (where, v, want))
        return ",".join(vals)
    if key == "cgroup":
        if len(vals) != 1 or not vals[0].startswith("/"):
            raise ConfError("%s: one absolute path" % where)
        return vals[0]
    if len(vals) == 1 and vals[0] in ("true", "1", "yes", "false", "0", "no"):
        return "1" if vals[0] in ("true", "1", "yes") else "0"
    raise ConfError("%s: true or false" % where)


def parse(path):
    """The prisons of @path in file order: [(name, {param: value}, line)]."""
    with open(path) as f:
        text = f.read()
    toks = list(tokens(text, path))
    out, names, jids, i = [], {}, {}, 0

    def expect(kind):
        nonlocal i
        if i >= len(toks):
            raise ConfError("%s: unexpected end of file, want %r" % (path, kind))
        t = toks[i]
        if t[1] != kind and not (kind == "word" and t[1] == "str"):
            raise ConfError("%s:%d: want %r, got %r" % (path, t[0], kind, t[2]))
        i += 1
        return t

    while i < len(toks):
        line, _, name = expect("word")
        if not NAME.match(name):
            raise ConfError("%s:%d: bad prison name %r (letters, digits, _ . -; 16 at most)"
                            % (path, line, name))
        if name in names:
            raise ConfError("%s:%d: prison %s is already defined at line %d"
                            % (path, line, name, names[name]))
        names[name] = line
        expect("{")
        params = {}
        while i < len(toks) and toks[i][1] != "}":
            kline, _, key = expect("word")
            if key not in PARAMS:
                raise ConfError("%s:%d: unknown parameter %r (known: %s)"
                                % (path, kline, key, ", ".join(PARAMS)))
            if key in params:
                raise ConfError("%s:%d: %s given twice" % (path, kline, key))
            expect("=")
            vals = [expect("word")[2]]
            while i < len(toks) and toks[i][1] == ",":
                i += 1
                vals.append(expect("word")[2])
            expect(";")
            params[key] = value(key, vals, kline, path)
        expect("}")
        if "jid" in params:
            if params["jid"] in jids:
                raise ConfError("%s:%d: jid %s is already prison %s's"
                                % (path, line, params["jid"], jids[params["jid"]]))
            jids[params["jid"]] = name
        out.append((name, params, line))
    return out
