#!/usr/bin/env python3
"""Writes the seed corpora of fuzz_ntp_packet and fuzz_ntp_ext (tests/fuzz/corpus/).
Run from anywhere: python3 tests/fuzz/gen_ntp_seeds.py. The bytes are fabricated: the
cookies, nonces, MACs and ciphertexts are patterns, not real cryptography."""
import os
import struct

HERE = os.path.dirname(os.path.abspath(__file__))
T_2024 = (0xE93C0000, 0x12345678)  # a 2024 timestamp
T_CLIENT = (0xE93C0001, 0x9ABCDEF0)


def header(li=0, vn=4, mode=3, stratum=0, poll=6, prec=-20, delay=0, disp=0, refid=0,
           ref=(0, 0), org=(0, 0), rec=(0, 0), xmt=T_CLIENT):
    return struct.pack(">BBbbIII8s8s8s8s", li << 6 | vn << 3 | mode, stratum, poll, prec,
                       delay, disp, refid, *(struct.pack(">II", *t)
                                             for t in (ref, org, rec, xmt)))


def ef(ftype, body, min_len=16, length=None):
    """A field padded to 4 and min_len; length overrides the Length on the wire."""
    total = max((4 + len(body) + 3) // 4 * 4, (min_len + 3) // 4 * 4)
    field = struct.pack(">HH", ftype, total if length is None else length) + body
    return field + bytes(total - len(field))


def pattern(n, seed):
    return bytes((seed + 7 * i) & 0xFF for i in range(n))


def pad4(b):
    return b + bytes(-len(b) % 4)


def auth(nonce, ciphertext):
    """NTS Authenticator: nonce and ciphertext lengths, then both padded to 4."""
    return ef(0x0404, struct.pack(">HH", len(nonce), len(ciphertext)) + pad4(nonce) +
              pad4(ciphertext))


REPLY = header(vn=4, mode=4, stratum=2, poll=6, prec=-24, delay=0x00000A3D, disp=0x00000147,
               refid=0xC0A80101, ref=T_2024, org=T_CLIENT, rec=T_2024, xmt=T_2024)
UID = ef(0x0104, pattern(32, 0xA0))
COOKIE = ef(0x0204, pattern(100, 0x11))
NTS_REQUEST = (header() + UID + COOKIE + ef(0x0304, bytes(100)) + ef(0x0304, bytes(100)) +
               auth(pattern(16, 0x33), pattern(16, 0x44)))
# a reply's authenticator: the SIV tag, then two encrypted cookies (as ciphertext bytes)
NTS_REPLY = REPLY + UID + auth(pattern(16, 0x55), pattern(16 + 2 * 104, 0x66))
# what decrypting that ciphertext would give: fields of any length that is a multiple of 4
PLAINTEXT = ef(0x0204, pattern(100, 0x77), 4) + ef(0x0204, b"tiny", 4) + ef(0x1234, b"", 4)
MAC_MD5 = struct.pack(">I", 1) + pattern(16, 0x88)
MAC_SHA1 = struct.pack(">I", 2) + pattern(20, 0x99)

COMMON = {
    "nts_request": NTS_REQUEST,
    "nts_reply": NTS_REPLY,
    "nts_request_truncated": NTS_REQUEST[:150],
    "mac_md5": header(vn=4) + MAC_MD5,
    "mac_sha1": header(vn=4) + MAC_SHA1,
    "mac_md5_v3": header(vn=3) + MAC_MD5,
    "ef16_then_mac_sha1": header() + ef(0x2005, pattern(12, 1)) + MAC_SHA1,
    "crypto_nak": REPLY + bytes(4),
    "ef_len0": header() + ef(0x1111, bytes(28), length=0),
    "ef_len2": header() + ef(0x1111, bytes(28), length=2),
    "ef_len15": header() + ef(0x1111, bytes(28), length=15),
    "ef_len30_not4": header() + ef(0x1111, bytes(28), length=30),
    "ef_beyond_end": header() + ef(0x1111, bytes(28), length=64),
    "ef_exact_end": header() + ef(0x1111, bytes(60)),
    "ef_lone16": header() + ef(0x1111, b""),
    "ef_16_16": header() + ef(0x1111, b"") + ef(0x2222, b""),
    "ef_16_28": header() + ef(0x1111, b"") + ef(0x2222, b"", 28),
    "ef_24_as_mac": header() + ef(0x7777, bytes(20)),
    "ef_trailing_2": header() + ef(0x1111, bytes(24)) + b"\0\0",
}

PACKET = dict(COMMON, **{
    "client_v4": header(),
    "client_v3": header(vn=3),
    "client_v1_mode0": header(vn=1, mode=0),
    "symmetric_active": header(mode=1, stratum=3, ref=T_2024, xmt=T_2024),
    "server_reply": REPLY,
    "kod_rate": header(li=3, mode=4, stratum=0, refid=0x52415445, org=T_CLIENT, xmt=T_CLIENT),
    "kod_deny": header(li=3, mode=4, stratum=0, refid=0x44454E59, org=T_CLIENT, xmt=T_CLIENT),
    "kod_ntsn": header(li=3, mode=4, stratum=0, refid=0x4E54534E, org=T_CLIENT) + UID,
    "era_edges": header(mode=4, stratum=1, refid=0x47505300, ref=(0xFFFFFFFF, 0xFFFFFFFF),
                        org=(0, 1), rec=(0x80000000, 0), xmt=(0x7FFFFFFF, 0xFFFFFFFC)),
    "private_monlist": bytes([0x17, 0x00, 0x03, 0x2A]) + bytes(44),
    "control_12": bytes([0x16, 0x02, 0x00, 0x01]) + bytes(8),
    "truncated_47": header()[:47],
    "truncated_1": header()[:1],
    "unsync_stratum16": header(li=3, mode=4, stratum=16, refid=0x494E4954, xmt=T_2024),
    "kod_lowercase": header(li=3, mode=4, stratum=0, refid=0x72617465, org=T_CLIENT),
    "version0": header(vn=0),
    "version7": header(vn=7, mode=4),
}, **{"mode%d" % m: header(mode=m, stratum=4, ref=T_2024, xmt=T_2024) for m in (2, 5, 6, 7)})

EXT = dict(COMMON, **{
    "ef_chain": header() + ef(0x1234, pattern(12, 2)) + ef(0x5678, pattern(20, 3)) + UID,
    "plaintext_bare": PLAINTEXT,
    "plaintext_short_fields": ef(1, b"", 4) + ef(2, b"abcd", 4),
    "empty": b"",
})


def write(corpus, seeds):
    path = os.path.join(HERE, "corpus", corpus)
    os.makedirs(path, exist_ok=True)
    for name, data in seeds.items():
        with open(os.path.join(path, name), "wb") as f:
            f.write(data)


write("ntp_packet", PACKET)
write("ntp_ext", EXT)
