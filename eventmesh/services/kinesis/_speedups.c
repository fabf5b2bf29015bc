/* Routing by partition key in C: a twin of the shard lookup of Stream.put_records (stream.py).
 *
 * Kinesis maps a record to a shard by the MD5 digest of its partition key's UTF-8 bytes, read
 * as an unsigned 128-bit big-endian number: the open shard whose hash key range holds it takes
 * the record (https://docs.aws.amazon.com/kinesis/latest/APIReference/API_PutRecords.html).
 * In Python that is hashlib.md5, digest, int.from_bytes and bisect per record: about 0.6 us, a
 * twentieth of a simulation that streams (bench_pipeline.py), for a digest of one 64-byte block.
 * Here one call routes a whole PutRecords request: the digest (RFC 1321, below) and a binary
 * search over the open shards' starting hash keys, handed over as 16 big-endian bytes each.
 * The Python code is the reference: tests/services/kinesis/test_route_engines.py compares the
 * two on keys of every length and script, and EVENTMESH_KINESIS_ENGINE=python turns this off.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <stdint.h>
#include <string.h>

#include "_twins.h"

/* -- MD5, RFC 1321 (https://www.rfc-editor.org/rfc/rfc1321) ---------------------------------- */

static const uint32_t K[64] = {   /* floor(|sin(i + 1)| * 2^32) */
    0xd76aa478u, 0xe8c7b756u, 0x242070dbu, 0xc1bdceeeu,
    0xf57c0fafu, 0x4787c62au, 0xa8304613u, 0xfd469501u,
    0x698098d8u, 0x8b44f7afu, 0xffff5bb1u, 0x895cd7beu,
    0x6b901122u, 0xfd987193u, 0xa679438eu, 0x49b40821u,
    0xf61e2562u, 0xc040b340u, 0x265e5a51u, 0xe9b6c7aau,
    0xd62f105du, 0x02441453u, 0xd8a1e681u, 0xe7d3fbc8u,
    0x21e1cde6u, 0xc33707d6u, 0xf4d50d87u, 0x455a14edu,
    0xa9e3e905u, 0xfcefa3f8u, 0x676f02d9u, 0x8d2a4c8au,
    0xfffa3942u, 0x8771f681u, 0x6d9d6122u, 0xfde5380cu,
    0xa4beea44u, 0x4bdecfa9u, 0xf6bb4b60u, 0xbebfbc70u,
    0x289b7ec6u, 0xeaa127fau, 0xd4ef3085u, 0x04881d05u,
    0xd9d4d039u, 0xe6db99e5u, 0x1fa27cf8u, 0xc4ac5665u,
    0xf4292244u, 0x432aff97u, 0xab9423a7u, 0xfc93a039u,
    0x655b59c3u, 0x8f0ccc92u, 0xffeff47du, 0x85845dd1u,
    0x6fa87e4fu, 0xfe2ce6e0u, 0xa3014314u, 0x4e0811a1u,
    0xf7537e82u, 0xbd3af235u, 0x2ad7d2bbu, 0xeb86d391u,
};
static inline uint32_t rotl(uint32_t x, unsigned n) { return (x << n) | (x >> (32 - n)); }

/* The four rounds' functions (RFC 1321, 3.4), F and G in their one-operation-fewer forms. */
#define F(x, y, z) ((z) ^ ((x) & ((y) ^ (z))))
#define G(x, y, z) ((y) ^ ((z) & ((x) ^ (y))))
#define H(x, y, z) ((x) ^ (y) ^ (z))
#define I(x, y, z) ((y) ^ ((x) | ~(z)))
#define STEP(f, a, b, c, d, x, t, s) (a) = (b) + rotl((a) + f((b), (c), (d)) + (x) + (t), (s))
/* Four steps of a round: steps i to i + 3 on message words g0..g3, with the round's shifts. */
#define FOUR(f, i, g0, g1, g2, g3, s0, s1, s2, s3) \
    STEP(f, a, b, c, d, m[g0], K[i], s0);            \
    STEP(f, d, a, b, c, m[g1], K[i + 1], s1);        \
    STEP(f, c, d, a, b, m[g2], K[i + 2], s2);        \
    STEP(f, b, c, d, a, m[g3], K[i + 3], s3)

static void md5_block(uint32_t h[4], const uint8_t *p) {
    uint32_t m[16];
    for (int i = 0; i < 16; i++)
        m[i] = (uint32_t)p[4 * i] | (uint32_t)p[4 * i + 1] << 8 | (uint32_t)p[4 * i + 2] << 16 |
               (uint32_t)p[4 * i + 3] << 24;
    uint32_t a = h[0], b = h[1], c = h[2], d = h[3];
    FOUR(F, 0, 0, 1, 2, 3, 7, 12, 17, 22);
    FOUR(F, 4, 4, 5, 6, 7, 7, 12, 17, 22);
    FOUR(F, 8, 8, 9, 10, 11, 7, 12, 17, 22);
    FOUR(F, 12, 12, 13, 14, 15, 7, 12, 17, 22);
    FOUR(G, 16, 1, 6, 11, 0, 5, 9, 14, 20);       /* word (5i + 1) mod 16 */
    FOUR(G, 20, 5, 10, 15, 4, 5, 9, 14, 20);
    FOUR(G, 24, 9, 14, 3, 8, 5, 9, 14, 20);
    FOUR(G, 28, 13, 2, 7, 12, 5, 9, 14, 20);
    FOUR(H, 32, 5, 8, 11, 14, 4, 11, 16, 23);     /* word (3i + 5) mod 16 */
    FOUR(H, 36, 1, 4, 7, 10, 4, 11, 16, 23);
    FOUR(H, 40, 13, 0, 3, 6, 4, 11, 16, 23);
    FOUR(H, 44, 9, 12, 15, 2, 4, 11, 16, 23);
    FOUR(I, 48, 0, 7, 14, 5, 6, 10, 15, 21);      /* word 7i mod 16 */
    FOUR(I, 52, 12, 3, 10, 1, 6, 10, 15, 21);
    FOUR(I, 56, 8, 15, 6, 13, 6, 10, 15, 21);
    FOUR(I, 60, 4, 11, 2, 9, 6, 10, 15, 21);
    h[0] += a;
    h[1] += b;
    h[2] += c;
    h[3] += d;
}

/* The digest of data[0:len] as the two big-endian 64-bit halves of the 128-bit number. */
static void md5_number(const uint8_t *data, size_t len, uint64_t *high, uint64_t *low) {
    uint32_t h[4] = {0x67452301u, 0xefcdab89u, 0x98badcfeu, 0x10325476u};
    size_t whole = len & ~(size_t)63;
    for (size_t pos = 0; pos < whole; pos += 64) md5_block(h, data + pos);
    uint8_t tail[128];
    size_t rest = len - whole;
    memcpy(tail, data + whole, rest);
    tail[rest] = 0x80;
    size_t padded = rest < 56 ? 64 : 128;
    memset(tail + rest + 1, 0, padded - rest - 1);
    uint64_t bits = (uint64_t)len * 8;
    for (int i = 0; i < 8; i++) tail[padded - 8 + i] = (uint8_t)(bits >> (8 * i));
    md5_block(h, tail);
    if (padded == 128) md5_block(h, tail + 64);
    uint8_t digest[16];
    for (int i = 0; i < 4; i++)
        for (int j = 0; j < 4; j++) digest[4 * i + j] = (uint8_t)(h[i] >> (8 * j));
    uint64_t hi = 0, lo = 0;
    for (int i = 0; i < 8; i++) {
        hi = hi << 8 | digest[i];
        lo = lo << 8 | digest[8 + i];
    }
    *high = hi;
    *low = lo;
}

/* -- routing ------------------------------------------------------------------------------- */

static inline uint64_t be64(const uint8_t *p) {
    uint64_t v = 0;
    for (int i = 0; i < 8; i++) v = v << 8 | p[i];
    return v;
}

static struct {
    PyTypeObject *Entry;                  /* PutRecordsRequestEntry */
    Py_ssize_t partition_key, explicit_hash_key;
} G;

static PyObject *init(PyObject *self, PyObject *args) {
    (void)self;
    if (!PyArg_ParseTuple(args, "O!", &PyType_Type, &G.Entry)) return NULL;
    if (offset_of(G.Entry, "partition_key", &G.partition_key) < 0 ||
        offset_of(G.Entry, "explicit_hash_key", &G.explicit_hash_key) < 0) {
        G.Entry = NULL;
        return NULL;
    }
    Py_INCREF(G.Entry);
    Py_RETURN_NONE;
}

/* The open shard (an item of ``shards``) whose range holds ``key``'s hash key; ``bounds`` holds
 * the shards' starting hash keys, 16 big-endian bytes each, the first 0. Borrowed. */
static PyObject *shard_of(PyObject *key, const uint8_t *bounds, Py_ssize_t n, PyObject *shards) {
    Py_ssize_t size;
    const char *text = PyUnicode_AsUTF8AndSize(key, &size);   /* a lone surrogate: the error str.encode raises */
    if (text == NULL) return NULL;
    uint64_t hi, lo;
    md5_number((const uint8_t *)text, (size_t)size, &hi, &lo);
    /* bisect_right(starts, hash) - 1: the last start at or below the hash key */
    Py_ssize_t first = 0, last = n;
    while (last - first > 1) {
        Py_ssize_t mid = (first + last) / 2;
        uint64_t mh = be64(bounds + 16 * mid), ml = be64(bounds + 16 * mid + 8);
        if (mh < hi || (mh == hi && ml <= lo))
            first = mid;
        else
            last = mid;
    }
    return PyList_GET_ITEM(shards, first);
}

/* route(entries, bounds, shards, by_explicit) -> list: Stream._route, the shard of each entry;
 * an entry with an ExplicitHashKey goes to ``by_explicit(key)`` (Stream._shard_for_explicit,
 * which checks it). No memo of keys, unlike the Python code: here the digest and the search
 * cost 105 ns a key, about what a memo saves on a key it holds (a 65,536-key dict, out of the
 * cache) and 60 % of what it costs on one it does not (PutRecords of new keys: 829 -> 670 ns a
 * record without it; of 500 keys repeated: 602 -> 707). */
static PyObject *route(PyObject *self, PyObject *const *args, Py_ssize_t nargs) {
    (void)self;
    if (G.Entry == NULL) {
        PyErr_SetString(PyExc_RuntimeError, "init() was not called");
        return NULL;
    }
    if (nargs != 4 || !PyList_Check(args[0]) || !PyBytes_Check(args[1]) || !PyList_Check(args[2])) {
        PyErr_SetString(PyExc_TypeError, "route(entries: list, bounds: bytes, shards: list, by_explicit)");
        return NULL;
    }
    PyObject *entries = args[0], *shards = args[2];
    const uint8_t *bounds = (const uint8_t *)PyBytes_AS_STRING(args[1]);
    Py_ssize_t n = PyBytes_GET_SIZE(args[1]) / 16;
    if (n == 0 || n != PyList_GET_SIZE(shards) || PyBytes_GET_SIZE(args[1]) % 16) {
        PyErr_SetString(PyExc_ValueError, "route: one 16-byte bound per open shard");
        return NULL;
    }
    Py_ssize_t count = PyList_GET_SIZE(entries);
    PyObject *out = PyList_New(count);
    if (out == NULL) return NULL;
    for (Py_ssize_t k = 0; k < count; k++) {
        PyObject *entry = PyList_GET_ITEM(entries, k), *shard;
        if (!Py_IS_TYPE(entry, G.Entry)) {
            PyErr_SetString(PyExc_TypeError, "route: entries are PutRecordsRequestEntry");
            goto fail;
        }
        PyObject *key = SLOT(entry, G.partition_key), *explicit = SLOT(entry, G.explicit_hash_key);
        if (key == NULL || explicit == NULL) {
            PyErr_SetString(PyExc_AttributeError, "route: an entry without its fields");
            goto fail;
        }
        if (explicit != Py_None) {
            if ((shard = PyObject_CallOneArg(args[3], explicit)) == NULL) goto fail;
            PyList_SET_ITEM(out, k, shard);   /* a new reference */
            continue;
        }
        if (!PyUnicode_Check(key)) {
            PyErr_SetString(PyExc_TypeError, "a partition key is a str");
            goto fail;
        }
        if ((shard = shard_of(key, bounds, n, shards)) == NULL) goto fail;
        Py_INCREF(shard);
        PyList_SET_ITEM(out, k, shard);
    }
    return out;
fail:
    Py_DECREF(out);
    return NULL;
}

static PyMethodDef methods[] = {
    {"init", init, METH_VARARGS, "init(PutRecordsRequestEntry): the entry class whose fields route reads."},
    {"route", (PyCFunction)(void (*)(void))route, METH_FASTCALL,
     "route(entries, bounds, shards, by_explicit): the shard of each entry by its partition key."},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {
    PyModuleDef_HEAD_INIT, "_speedups", "Kinesis routing by partition key in C (see stream.py).", -1,
    methods, NULL, NULL, NULL, NULL,
};

PyMODINIT_FUNC PyInit__speedups(void) { return PyModule_Create(&module); }
