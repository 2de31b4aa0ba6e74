import socket, struct, sys, os
out = sys.argv[1]
RTM_GETLINK, RTM_GETADDR, RTM_GETROUTE, RTM_GETNEIGH, RTM_NEWLINK = 18, 22, 26, 30, 16
NLM_F_REQUEST, NLM_F_DUMP, NLM_F_ACK = 1, 0x300, 4
s = socket.socket(socket.AF_NETLINK, socket.SOCK_RAW, 0)
s.setsockopt(270, 11, 1)  # NETLINK_EXT_ACK
s.bind((0, 0))
seq = 1
def dump(t, fam, hdrlen, name):
    global seq
    body = struct.pack('B', fam) + b'\0' * (hdrlen - 1)
    msg = struct.pack('=LHHLL', 16 + len(body), t, NLM_F_REQUEST | NLM_F_DUMP, seq, 0) + body
    seq += 1
    s.send(msg)
    data = b''
    while True:
        chunk = s.recv(65536)
        data += chunk
        # NLMSG_DONE = 3 somewhere in the last datagram
        off = 0; done = False
        while off + 16 <= len(chunk):
            l, ty = struct.unpack_from('=LH', chunk, off)
            if ty == 3: done = True
            off += (l + 3) & ~3
        if done: break
    open(os.path.join(out, name), 'wb').write(data)
dump(RTM_GETLINK, 0, 16, 'links')
dump(RTM_GETADDR, 0, 8, 'addresses')
dump(RTM_GETROUTE, 2, 12, 'routes_v4')
dump(RTM_GETROUTE, 10, 12, 'routes_v6')
dump(RTM_GETNEIGH, 0, 12, 'neighbours')
dump(RTM_GETNEIGH, 7, 12, 'fdb')
# An error with an extended ACK: a link of an unknown kind.
kind = b'nosuchkind\0'
kattr = struct.pack('=HH', 4 + len(kind), 1) + kind + b'\0' * ((-len(kind)) % 4)
linkinfo = struct.pack('=HH', 4 + len(kattr), 18) + kattr
name = b'x0\0\0'
attrs = struct.pack('=HH', 7, 3) + name + linkinfo
body = b'\0' * 16 + attrs
s.send(struct.pack('=LHHLL', 16 + len(body), RTM_NEWLINK, NLM_F_REQUEST | NLM_F_ACK | 0x600, 99, 0) + body)
open(os.path.join(out, 'error_extack'), 'wb').write(s.recv(65536))
