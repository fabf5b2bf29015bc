/* The pattern engine's hot path in C: flatten one decoded event and walk the machine over it.
 *
 * This file passes 600 lines because it is one translation unit on purpose: the flattener, the walk
 * and the native lookups of the common operator families share the slot table below and inline into
 * each other; split, they would need a private header and cross-file symbols for no reader's gain.
 *
 * It is a twin of _flatten.flatten_into and _walk.walk, not a second engine: the machine (states,
 * edges, family indexes) is built and changed only by the Python code, and this code reads it
 * through the objects' __slots__ (offsets taken once, in init()). The same tests and the
 * conformance corpus run against both (tests/patterns/conftest.py, tests/conformance). Families
 * without a native lookup here (wildcard, anything-but, IPv6 blocks, uncomparable numbers, SNS
 * number keys) are asked through their Python methods, and events with arrays of objects on rule
 * paths finish in _walk.walk_arrays, so their semantics live in one place.
 *
 * Every reference held on the walk's stack is borrowed: the machine owns the states, and a rule set
 * belongs to one thread (RuleSet's docstring), so nothing changes the machine during a match; the
 * events are JSON data, whose keys and values compare without running Python code.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <math.h>
#include <string.h>
#include <structmember.h>

#include "_twins.h"

#define EDGE_SCAN_MAX 8 /* as _walk.EDGE_SCAN_MAX */
#define STACK_START 64
#define DEDUP_SCAN_MAX 16 /* duplicates among more found states are dropped by sorting */
#define MIDDLE_SCAN_MAX 16 /* as ops/wildcard.MIDDLE_SCAN_MAX (checked by init) */
#define FID_BITS 4096      /* field ids kept as bits per event (more are looked up in the dict) */


/* An int's value without a call when it fits one digit (field ids, counts: always), else
 * PyLong_AsSsize_t (-1 with an error set when it does not fit). */
static inline Py_ssize_t small_int(PyObject *o) {
#if PY_VERSION_HEX >= 0x030C0000
    if (PyLong_CheckExact(o) && PyUnstable_Long_IsCompact((PyLongObject *)o))
        return PyUnstable_Long_CompactValue((PyLongObject *)o);
#else
    if (PyLong_CheckExact(o)) {
        Py_ssize_t size = Py_SIZE(o);
        if (size == 0) return 0;
        if (size == 1) return (Py_ssize_t)((PyLongObject *)o)->ob_digit[0];
        if (size == -1) return -(Py_ssize_t)((PyLongObject *)o)->ob_digit[0];
    }
#endif
    return PyLong_AsSsize_t(o);
}

/* The truth of an int (an edge's ``multi`` count) without PyObject_IsTrue's call chain. */
static inline int int_true(PyObject *o) {
#if PY_VERSION_HEX < 0x030C0000
    if (PyLong_CheckExact(o)) return Py_SIZE(o) != 0;
#endif
    return PyObject_IsTrue(o);
}

/* Types and slot offsets of the Python classes this code reads, registered once by init(). They
 * describe the classes, not any machine, so two rule sets (or meshes) never share state here. */
static struct {
    int ready;
    PyTypeObject *State, *Edge, *PathNode, *Values;
    PyTypeObject *NumberFamily, *EqicFamily, *PrefixFamily, *SuffixFamily, *PrefixIcFamily,
        *SuffixIcFamily, *RangeFamily, *CidrFamily, *ExistsFamily, *WildcardFamily, *AnythingButFamily;
    Py_ssize_t st_edges, st_by_fid, st_absent, st_rules;
    Py_ssize_t ed_exact, ed_on_str, ed_on_num, ed_on_lit, ed_multi;
    Py_ssize_t pn_children, pn_field, pn_index;
    Py_ssize_t tb_map, af_table, af_by_end, af_ascii_ends, af_has_empty, ln_sorted;
    Py_ssize_t nf_keys, nf_texts, eq_table, ff_affixes, rf_index, cf_indexes, ef_table;
    Py_ssize_t ii_points, ii_regions, ii_tree, ii_leaves;
    Py_ssize_t wf_index, wi_exact, wi_prefixes, wi_suffixes, wi_every, wi_middles;
    Py_ssize_t wc_check, wc_tail, wc_least;
    Py_ssize_t ab_states, ab_exact, ab_numbers, ab_folded, ab_prefixes, ab_suffixes, ab_wildcards,
        ab_exact_only, ab_lets_through;
    PyObject *eb_numkey, *walk_arrays, *four, *empty, *empty_tuple;
} G;

typedef struct {
    PyObject **items;
    Py_ssize_t n, cap;
} Stack;

static int push(Stack *s, PyObject *o) {
    if (s->n == s->cap) {
        Py_ssize_t cap = s->cap ? 2 * s->cap : STACK_START;
        PyObject **grown = PyMem_Realloc(s->items, cap * sizeof(PyObject *));
        if (!grown) {
            PyErr_NoMemory();
            return -1;
        }
        s->items = grown;
        s->cap = cap;
    }
    s->items[s->n++] = o;
    return 0;
}

/* Push every item of a tuple or list (next states, borrowed). */
static int push_all(Stack *s, PyObject *seq) {
    Py_ssize_t n = PySequence_Fast_GET_SIZE(seq);
    PyObject **items = PySequence_Fast_ITEMS(seq);
    for (Py_ssize_t i = 0; i < n; i++)
        if (push(s, items[i]) < 0) return -1;
    return 0;
}

/* ---------------------------------------------------------------- registration */

static void classes_init(void); /* the JSON text scanner's byte table (below) */

static PyObject *init(PyObject *self, PyObject *args) {
    PyTypeObject *Table, *AffixTable, *Lengths, *IntervalIndex, *WildcardIndex, *Wildcard;
    Py_ssize_t middle_scan_max;
    if (!PyArg_ParseTuple(args, "O!O!O!O!O!O!O!O!O!O!O!O!O!O!O!O!O!O!O!O!O!OOn", &PyType_Type, &G.State,
                          &PyType_Type, &G.Edge, &PyType_Type, &G.PathNode, &PyType_Type, &G.Values,
                          &PyType_Type, &Table, &PyType_Type, &AffixTable, &PyType_Type, &Lengths,
                          &PyType_Type, &IntervalIndex, &PyType_Type, &G.NumberFamily, &PyType_Type,
                          &G.EqicFamily, &PyType_Type, &G.PrefixFamily, &PyType_Type, &G.SuffixFamily,
                          &PyType_Type, &G.PrefixIcFamily, &PyType_Type, &G.SuffixIcFamily,
                          &PyType_Type, &G.RangeFamily, &PyType_Type, &G.CidrFamily, &PyType_Type,
                          &G.ExistsFamily, &PyType_Type, &G.WildcardFamily, &PyType_Type, &WildcardIndex,
                          &PyType_Type, &Wildcard, &PyType_Type, &G.AnythingButFamily, &G.eb_numkey,
                          &G.walk_arrays, &middle_scan_max))
        return NULL;
    if (middle_scan_max != MIDDLE_SCAN_MAX) {
        PyErr_SetString(PyExc_ValueError, "MIDDLE_SCAN_MAX differs from ops/wildcard.py");
        return NULL;
    }
    struct { PyTypeObject *t; const char *name; Py_ssize_t *off; } slots[] = {
        {G.State, "edges", &G.st_edges}, {G.State, "by_fid", &G.st_by_fid},
        {G.State, "absent", &G.st_absent}, {G.State, "rules", &G.st_rules},
        {G.Edge, "exact", &G.ed_exact}, {G.Edge, "on_str", &G.ed_on_str},
        {G.Edge, "on_num", &G.ed_on_num}, {G.Edge, "on_lit", &G.ed_on_lit},
        {G.Edge, "multi", &G.ed_multi}, {G.PathNode, "children", &G.pn_children},
        {G.PathNode, "field", &G.pn_field}, {G.PathNode, "index", &G.pn_index}, {Table, "map", &G.tb_map},
        {AffixTable, "table", &G.af_table}, {AffixTable, "by_end", &G.af_by_end},
        {AffixTable, "ascii_ends", &G.af_ascii_ends}, {AffixTable, "has_empty", &G.af_has_empty},
        {Lengths, "sorted", &G.ln_sorted}, {G.NumberFamily, "keys", &G.nf_keys},
        {G.NumberFamily, "texts", &G.nf_texts}, {G.EqicFamily, "table", &G.eq_table},
        {G.PrefixFamily, "affixes", &G.ff_affixes}, {G.RangeFamily, "index", &G.rf_index},
        {G.CidrFamily, "indexes", &G.cf_indexes}, {G.ExistsFamily, "table", &G.ef_table},
        {IntervalIndex, "points", &G.ii_points}, {IntervalIndex, "regions", &G.ii_regions},
        {IntervalIndex, "tree", &G.ii_tree}, {IntervalIndex, "leaves", &G.ii_leaves},
        {G.WildcardFamily, "index", &G.wf_index}, {WildcardIndex, "exact", &G.wi_exact},
        {WildcardIndex, "prefixes", &G.wi_prefixes}, {WildcardIndex, "suffixes", &G.wi_suffixes},
        {WildcardIndex, "every", &G.wi_every}, {WildcardIndex, "middles", &G.wi_middles},
        {Wildcard, "check", &G.wc_check},
        {Wildcard, "tail", &G.wc_tail}, {Wildcard, "least", &G.wc_least},
        {G.AnythingButFamily, "states", &G.ab_states}, {G.AnythingButFamily, "exact", &G.ab_exact},
        {G.AnythingButFamily, "numbers", &G.ab_numbers}, {G.AnythingButFamily, "folded", &G.ab_folded},
        {G.AnythingButFamily, "prefixes", &G.ab_prefixes},
        {G.AnythingButFamily, "suffixes", &G.ab_suffixes},
        {G.AnythingButFamily, "wildcards", &G.ab_wildcards},
        {G.AnythingButFamily, "exact_only", &G.ab_exact_only},
        {G.AnythingButFamily, "lets_through", &G.ab_lets_through},
    };
    for (size_t i = 0; i < sizeof(slots) / sizeof(slots[0]); i++)
        if (offset_of(slots[i].t, slots[i].name, slots[i].off) < 0) return NULL;
    /* the four affix families share one base class and its "affixes" slot */
    Py_ssize_t off;
    PyTypeObject *affix_types[] = {G.SuffixFamily, G.PrefixIcFamily, G.SuffixIcFamily};
    (void)self;
    for (int i = 0; i < 3; i++) {
        if (offset_of(affix_types[i], "affixes", &off) < 0) return NULL;
        if (off != G.ff_affixes) {
            PyErr_SetString(PyExc_TypeError, "affix families disagree on their layout");
            return NULL;
        }
    }
    PyTypeObject *keep[] = {G.State, G.Edge, G.PathNode, G.Values, G.NumberFamily, G.EqicFamily,
                            G.PrefixFamily, G.SuffixFamily, G.PrefixIcFamily, G.SuffixIcFamily,
                            G.RangeFamily, G.CidrFamily, G.ExistsFamily, G.WildcardFamily,
                            G.AnythingButFamily};
    for (size_t i = 0; i < sizeof(keep) / sizeof(keep[0]); i++) Py_INCREF(keep[i]);
    Py_INCREF(G.eb_numkey);
    Py_INCREF(G.walk_arrays);
    classes_init();
    G.four = PyLong_FromLong(4);
    G.empty = PyUnicode_FromString("");
    G.empty_tuple = PyTuple_New(0);
    if (!G.four || !G.empty || !G.empty_tuple) return NULL;
    G.ready = 1;
    Py_RETURN_NONE;
}

/* ---------------------------------------------------------------- flatten (as _flatten.py) */

static PyTypeObject *RawType; /* msgspec.Raw (JSON text kept as text), registered by init_raw() */

/* The field ids present in F or X, as bits, so that an edge whose field the event lacks costs no
 * dict probe; ids past FID_BITS are looked up in the dict. Filled as the flattener stores values. */
typedef struct {
    unsigned char bits[FID_BITS / 8];
    int big;
} FidSet;

static inline void fidset_add(FidSet *set, PyObject *fid) {
    Py_ssize_t v = small_int(fid);
    if (v >= 0 && v < FID_BITS) {
        set->bits[v >> 3] |= (unsigned char)(1 << (v & 7));
    } else {
        PyErr_Clear();
        set->big = 1;
    }
}

/* One flattened event: F (field id -> value or Values), X (field id -> [(value, membership)] for
 * leaves inside arrays of objects) and the ids each holds. F lives in ``fv`` for ids below FID_BITS
 * (read only where ``in_f`` has the id's bit, so nothing is cleared per event), in the dict ``big``
 * above; ``order`` lists the small ids in the order stored (what iterating F visits). A Values
 * list made for a second value is owned (kept in ``owned``); single values are borrowed from the
 * event, which outlives the match. The dict F of the Python engine is built only when the walk
 * hands it to walk_arrays (an event with arrays of objects some rule looks into). */
typedef struct {
    PyObject *big, *X;
    FidSet in_f, in_x;
    PyObject *fv[FID_BITS];
    Stack order;
    Stack owned;
    Stack todo, tmp; /* the walk's, kept with the Flat between matches */
} Flat;

static inline Py_ssize_t flat_size(const Flat *fl) { return fl->order.n + PyDict_GET_SIZE(fl->big); }

/* The value(s) of ``fid`` (borrowed), or NULL without an error when the event has none. */
static inline PyObject *flat_get(const Flat *fl, PyObject *fid) {
    Py_ssize_t v = small_int(fid);
    if (v >= 0 && v < FID_BITS)
        return (fl->in_f.bits[v >> 3] >> (v & 7)) & 1 ? fl->fv[v] : NULL;
    PyErr_Clear();
    return PyDict_GET_SIZE(fl->big) ? PyDict_GetItemWithError(fl->big, fid) : NULL;
}

/* Two values or more of one field: a Values list, owned by ``fl``. */
static PyObject *flat_values(Flat *fl, PyObject *first, PyObject *value) {
    PyObject *pair = PyTuple_Pack(2, first, value);
    if (!pair) return NULL;
    PyObject *values = PyObject_CallOneArg((PyObject *)G.Values, pair);
    Py_DECREF(pair);
    if (values && push(&fl->owned, values) < 0) {
        Py_DECREF(values);
        return NULL;
    }
    return values;
}

static int put(Flat *fl, PyObject *fid, PyObject *value) {
    Py_ssize_t v = small_int(fid);
    if (v >= 0 && v < FID_BITS) {
        unsigned char bit = (unsigned char)(1 << (v & 7));
        if (!(fl->in_f.bits[v >> 3] & bit)) {   /* the field's first value: borrowed */
            fl->in_f.bits[v >> 3] |= bit;
            fl->fv[v] = value;
            return push(&fl->order, fid);
        }
        PyObject *found = fl->fv[v];
        if (Py_IS_TYPE(found, G.Values)) return PyList_Append(found, value);
        PyObject *values = flat_values(fl, found, value);
        if (!values) return -1;
        fl->fv[v] = values;
        return 0;
    }
    PyErr_Clear();
    fl->in_f.big = 1;
    /* one probe for the common first value of a field: the dict grew iff the value was stored */
    PyObject *F = fl->big;
    Py_ssize_t before = PyDict_GET_SIZE(F);
    PyObject *found = PyDict_SetDefault(F, fid, value);
    if (!found) return -1;
    if (PyDict_GET_SIZE(F) != before) return 0;
    if (Py_IS_TYPE(found, G.Values)) return PyList_Append(found, value);
    PyObject *values = flat_values(fl, found, value);
    return values ? PyDict_SetItem(F, fid, values) : -1;
}

/* F as the dict the Python engine uses (a new reference): for walk_arrays. */
static PyObject *flat_dict(const Flat *fl) {
    PyObject *F = PyDict_Copy(fl->big);
    if (!F) return NULL;
    for (Py_ssize_t i = 0; i < fl->order.n; i++) {
        PyObject *fid = fl->order.items[i];
        if (PyDict_SetItem(F, fid, fl->fv[small_int(fid)]) < 0) {
            Py_DECREF(F);
            return NULL;
        }
    }
    return F;
}

/* One Flat kept between matches with its stacks and dicts, emptied (32 KB and two dicts need not be
 * made per event). A match takes it, or makes its own while it is taken (a match under way in
 * another thread, which walk_arrays' Python code lets run). */
static Flat *spare_flat;

static Flat *flat_take(void) {
    Flat *fl = spare_flat;
    if (fl) {
        spare_flat = NULL;
    } else {
        fl = PyMem_Malloc(sizeof(Flat));
        if (!fl) return (Flat *)PyErr_NoMemory();
        memset(&fl->order, 0, sizeof(fl->order));
        memset(&fl->owned, 0, sizeof(fl->owned));
        memset(&fl->todo, 0, sizeof(fl->todo));
        memset(&fl->tmp, 0, sizeof(fl->tmp));
        fl->big = PyDict_New();
        fl->X = PyDict_New();
        if (!fl->big || !fl->X) {
            Py_XDECREF(fl->big);
            Py_XDECREF(fl->X);
            PyMem_Free(fl);
            return NULL;
        }
    }
    memset(&fl->in_f, 0, sizeof(fl->in_f));
    memset(&fl->in_x, 0, sizeof(fl->in_x));
    return fl;
}

/* Empty ``fl`` and keep it as the spare (or free it if there is one). A dict someone else still
 * holds (walk_arrays was handed X) is dropped, never cleared under them. */
static void flat_free(Flat *fl) {
    for (Py_ssize_t i = 0; i < fl->owned.n; i++) Py_DECREF(fl->owned.items[i]);
    fl->owned.n = fl->order.n = 0;
    PyObject **dicts[] = {&fl->big, &fl->X};
    for (int k = 0; k < 2; k++) {
        PyObject *d = *dicts[k];
        if (Py_REFCNT(d) == 1) {
            if (PyDict_GET_SIZE(d)) PyDict_Clear(d);
        } else {
            Py_DECREF(d);
            *dicts[k] = PyDict_New();
        }
    }
    if (!spare_flat && fl->big && fl->X) {
        spare_flat = fl;
        return;
    }
    PyMem_Free(fl->owned.items);
    PyMem_Free(fl->order.items);
    PyMem_Free(fl->todo.items);
    PyMem_Free(fl->tmp.items);
    Py_XDECREF(fl->big);
    Py_XDECREF(fl->X);
    PyMem_Free(fl);
}

static int add_member(Flat *fl, PyObject *fid, PyObject *value, PyObject *mem) {
    PyObject *X = fl->X;
    fidset_add(&fl->in_x, fid);
    PyObject *leaf = PyTuple_Pack(2, value, mem);
    if (!leaf) return -1;
    PyObject *found = PyDict_GetItemWithError(X, fid);
    int rc;
    if (found) {
        rc = PyList_Append(found, leaf);
    } else if (PyErr_Occurred()) {
        rc = -1;
    } else {
        PyObject *list = PyList_New(1);
        if (!list) {
            Py_DECREF(leaf);
            return -1;
        }
        Py_INCREF(leaf);
        PyList_SET_ITEM(list, 0, leaf);
        rc = PyDict_SetItem(X, fid, list);
        Py_DECREF(list);
    }
    Py_DECREF(leaf);
    return rc;
}

static int has_containers(PyObject *list) {
    Py_ssize_t n = PyList_GET_SIZE(list);
    for (Py_ssize_t i = 0; i < n; i++) {
        PyObject *e = PyList_GET_ITEM(list, i);
        if (PyDict_CheckExact(e) || PyList_CheckExact(e)) return 1;
    }
    return 0;
}

static int members(PyObject *obj, PyObject *children, PyObject *mem, Flat *fl);

/* The leaves of a list holding objects or lists, each with its membership, into X. */
static int elements(PyObject *list, PyObject *node, PyObject *base, Flat *fl) {
    PyObject *fid = SLOT(node, G.pn_field), *children = SLOT(node, G.pn_children);
    PyObject *array_id = PyLong_FromVoidPtr(list); /* id(list), as the Python flattener uses */
    if (!array_id) return -1;
    int rc = 0;
    for (Py_ssize_t i = 0; rc == 0 && i < PyList_GET_SIZE(list); i++) {
        PyObject *e = PyList_GET_ITEM(list, i);
        if (PyDict_CheckExact(e) || PyList_CheckExact(e)) {
            if (PyDict_CheckExact(e) && PyDict_GET_SIZE(children) == 0) continue;
            PyObject *index = PyLong_FromSsize_t(i);
            PyObject *pair = index ? PyTuple_Pack(2, array_id, index) : NULL;
            Py_XDECREF(index);
            if (!pair) { rc = -1; break; }
            Py_ssize_t nb = PyTuple_GET_SIZE(base);
            PyObject *mem = PyTuple_New(nb + 1);
            if (!mem) { Py_DECREF(pair); rc = -1; break; }
            for (Py_ssize_t j = 0; j < nb; j++) {
                Py_INCREF(PyTuple_GET_ITEM(base, j));
                PyTuple_SET_ITEM(mem, j, PyTuple_GET_ITEM(base, j));
            }
            PyTuple_SET_ITEM(mem, nb, pair);
            rc = PyDict_CheckExact(e) ? members(e, children, mem, fl) : elements(e, node, mem, fl);
            Py_DECREF(mem);
        } else if (fid != Py_None) {
            /* a scalar element carries no membership of its own array (event-ruler Event.java) */
            rc = add_member(fl, fid, e, PyTuple_GET_SIZE(base) ? base : Py_None);
        }
    }
    Py_DECREF(array_id);
    return rc;
}

static int members(PyObject *obj, PyObject *children, PyObject *mem, Flat *fl) {
    PyObject *key, *value;
    Py_ssize_t pos = 0;
    while (PyDict_Next(obj, &pos, &key, &value)) {
        PyObject *node = PyDict_GetItemWithError(children, key);
        if (!node) {
            if (PyErr_Occurred()) return -1;
            continue;
        }
        PyObject *fid = SLOT(node, G.pn_field), *sub = SLOT(node, G.pn_children);
        int rc = 0;
        if (PyDict_CheckExact(value)) {
            if (PyDict_GET_SIZE(sub)) rc = members(value, sub, mem, fl);
        } else if (PyList_CheckExact(value)) {
            if (has_containers(value)) {
                rc = elements(value, node, mem, fl);
            } else if (fid != Py_None) {
                for (Py_ssize_t i = 0; rc == 0 && i < PyList_GET_SIZE(value); i++)
                    rc = add_member(fl, fid, PyList_GET_ITEM(value, i), mem);
            }
        } else if (fid != Py_None) {
            rc = add_member(fl, fid, value, mem);
        }
        if (rc < 0) return -1;
    }
    return 0;
}

static int flatten_value(PyObject *value, PyObject *node, Flat *fl);
static int flatten_raw(PyObject *raw, PyObject *node, PyObject *whole, Flat *fl);

static int flatten_object(PyObject *obj, PyObject *children, Flat *fl) {
    PyObject *key, *value, *node;
    Py_ssize_t pos = 0;
    if (PyDict_GET_SIZE(obj) <= PyDict_GET_SIZE(children)) {
        while (PyDict_Next(obj, &pos, &key, &value)) {
            node = PyDict_GetItemWithError(children, key);
            if (!node) {
                if (PyErr_Occurred()) return -1;
                continue;
            }
            if (flatten_value(value, node, fl) < 0) return -1;
        }
    } else {
        while (PyDict_Next(children, &pos, &key, &node)) {
            value = PyDict_GetItemWithError(obj, key);
            if (!value) {
                if (PyErr_Occurred()) return -1;
                continue;
            }
            if (flatten_value(value, node, fl) < 0) return -1;
        }
    }
    return 0;
}

static int flatten_value(PyObject *value, PyObject *node, Flat *fl) {
    PyObject *fid = SLOT(node, G.pn_field);
    if (Py_IS_TYPE(value, RawType)) return flatten_raw(value, node, NULL, fl);
    if (PyDict_CheckExact(value)) {
        PyObject *sub = SLOT(node, G.pn_children);
        return PyDict_GET_SIZE(sub) ? flatten_object(value, sub, fl) : 0;
    }
    if (PyList_CheckExact(value)) {
        if (has_containers(value)) {
            PyObject *empty = PyTuple_New(0);
            if (!empty) return -1;
            int rc = elements(value, node, empty, fl);
            Py_DECREF(empty);
            return rc;
        }
        if (fid == Py_None) return 0;
        for (Py_ssize_t i = 0; i < PyList_GET_SIZE(value); i++)
            if (put(fl, fid, PyList_GET_ITEM(value, i)) < 0) return -1;
        return 0;
    }
    return fid == Py_None ? 0 : put(fl, fid, value);
}

/* ---------------------------------------------------------------- JSON text (a bus's Detail)
 *
 * A PutEvents entry's Detail arrives as JSON text; decoding it into Python objects only to flatten
 * a few fields and encode it again into the envelope cost a third of a bus's time per event.
 * compact() turns the text into the exact bytes msgspec would encode after decoding it (the
 * envelope then embeds them as a msgspec.Raw; escapes rewritten as msgspec writes them), or answers
 * None where it cannot be sure (exponents, repeated keys, lone surrogates, ...), and the caller
 * decodes as before. The flattener reads such a
 * Raw where it meets one (an event's "detail", or a whole event) and makes Python objects only
 * for the values on rule paths. */

#define TEXT_DEPTH_MAX 64   /* deeper text is left to the decoder */
#define OBJECT_KEYS_MAX 128 /* an object of more keys is left to the decoder (repeats are found pairwise) */
#define INT_DIGITS_MAX 18   /* longer integers are left to the decoder (they fit a long long) */
#define FLOAT_SIG_MAX 15    /* DBL_DIG: such decimals are exactly what repr() gives back */
#define FLOAT_INT_DIGITS_MAX 16 /* below 1e16 and at least 1e-4, repr() and msgspec write no exponent */
#define FLOAT_LEAD_ZEROS_MAX 3
#define CHILD_SCAN_MAX 8    /* children compared byte by byte; more are looked up by a str key */

typedef struct {
    const char *s;
    Py_ssize_t n, i;
    char *out;
    Py_ssize_t o;
    Py_ssize_t *keys; /* (offset, length) pairs in ``out`` of the open objects' keys */
    Py_ssize_t nkeys, capkeys;
    int depth;
    Py_ssize_t *stack_keys; /* where ``keys`` starts: the caller's array (not freed) */
} Compact;

/* Bytes by class, so that each scanning loop tests one table entry per byte: JSON white space;
 * what ends a string's plain run (the quote, an escape, a control character, the terminating NUL
 * every str's UTF-8 buffer has); what ends a number or literal being skipped. */
enum { WS = 1, STR_STOP = 2, SCALAR_STOP = 4 };
static unsigned char byte_class[256];

static void classes_init(void) {
    byte_class[' '] = byte_class['\n'] = byte_class['\r'] = byte_class['\t'] = WS;
    for (int ch = 0; ch < 0x20; ch++) byte_class[ch] |= STR_STOP;
    byte_class['"'] |= STR_STOP;
    byte_class['\\'] |= STR_STOP;
    byte_class[','] |= SCALAR_STOP;
    byte_class['}'] |= SCALAR_STOP;
    byte_class[']'] |= SCALAR_STOP;
    byte_class[':'] |= SCALAR_STOP;
}

static inline void skip_ws(const char *s, Py_ssize_t n, Py_ssize_t *i) {
    while (*i < n && (byte_class[(unsigned char)s[*i]] & WS)) (*i)++;
}

/* Eight bytes at a time: whether a word holds a byte that ends a string's plain run (a quote, a
 * backslash, a control character: the classic "has zero byte" and "has byte less than" tests,
 * exact for the presence of one), or a byte past ASCII. */
#define ONES 0x0101010101010101ULL
#define HIGHS 0x8080808080808080ULL

static inline uint64_t word_at(const char *p) {
    uint64_t v;
    memcpy(&v, p, 8);
    return v;
}

static inline int word_stops(uint64_t v) {
    uint64_t q = v ^ (ONES * '"'), b = v ^ (ONES * '\\');
    return ((((q - ONES) & ~q) | ((b - ONES) & ~b) | ((v - ONES * 0x20) & ~v)) & HIGHS) != 0;
}

/* No byte of p[0..n) ends a plain run. */
static int plain_bytes(const char *p, Py_ssize_t n) {
    if (n >= 8) { /* whole words, the last one overlapping the one before */
        for (Py_ssize_t i = 0; i + 8 < n; i += 8)
            if (word_stops(word_at(p + i))) return 0;
        return !word_stops(word_at(p + n - 8));
    }
    for (Py_ssize_t i = 0; i < n; i++)
        if (byte_class[(unsigned char)p[i]] & STR_STOP) return 0;
    return 1;
}

static int ascii_bytes(const char *p, Py_ssize_t n) {
    uint64_t high = 0;
    if (n >= 8) {
        for (Py_ssize_t i = 0; i + 8 < n; i += 8) high |= word_at(p + i);
        high |= word_at(p + n - 8);
    } else {
        for (Py_ssize_t i = 0; i < n; i++) high |= (unsigned char)p[i];
    }
    return !(high & HIGHS);
}

/* 1: copied; 0: not canonical here (the caller decodes); -1: an error is set. */
static int compact_value(Compact *c);

/* Four hex digits at p (``avail`` bytes there): 1 and the value, or 0. */
static int hex4(const char *p, Py_ssize_t avail, unsigned *out) {
    if (avail < 4) return 0;
    unsigned v = 0;
    for (int k = 0; k < 4; k++) {
        char ch = p[k];
        unsigned d;
        if (ch >= '0' && ch <= '9') d = (unsigned)(ch - '0');
        else if (ch >= 'a' && ch <= 'f') d = (unsigned)(ch - 'a' + 10);
        else if (ch >= 'A' && ch <= 'F') d = (unsigned)(ch - 'A' + 10);
        else return 0;
        v = v * 16 + d;
    }
    *out = v;
    return 1;
}

/* A character given by an escape, as msgspec writes it: the quote, the backslash and control
 * characters escaped (\b \f \n \r \t, else \u00xx), any other as its UTF-8 bytes. Never longer
 * than the escape it came from. */
static void compact_char(Compact *c, unsigned cp) {
    char *w = c->out + c->o;
    Py_ssize_t n = 1;
    const char *forms = "\b\f\n\r\t\"\\", *letters = "bfnrt\"\\";
    const char *hit = cp && cp < 0x80 ? strchr(forms, (int)cp) : NULL;
    if (hit) {
        w[0] = '\\';
        w[1] = letters[hit - forms];
        n = 2;
    } else if (cp < 0x20) {
        static const char hex[] = "0123456789abcdef";
        memcpy(w, "\\u00", 4);
        w[4] = hex[cp >> 4];
        w[5] = hex[cp & 15];
        n = 6;
    } else if (cp < 0x80) {
        w[0] = (char)cp;
    } else if (cp < 0x800) {
        w[0] = (char)(0xC0 | (cp >> 6));
        w[1] = (char)(0x80 | (cp & 0x3F));
        n = 2;
    } else if (cp < 0x10000) {
        w[0] = (char)(0xE0 | (cp >> 12));
        w[1] = (char)(0x80 | ((cp >> 6) & 0x3F));
        w[2] = (char)(0x80 | (cp & 0x3F));
        n = 3;
    } else {
        w[0] = (char)(0xF0 | (cp >> 18));
        w[1] = (char)(0x80 | ((cp >> 12) & 0x3F));
        w[2] = (char)(0x80 | ((cp >> 6) & 0x3F));
        w[3] = (char)(0x80 | (cp & 0x3F));
        n = 4;
    }
    c->o += n;
}

/* The rest of a string from its first escape (or invalid byte) at ``j``. */
static int compact_escaped(Compact *c, Py_ssize_t j) {
    const char *s = c->s;
    memcpy(c->out + c->o, s + c->i, j - c->i);
    c->o += j - c->i;
    for (;;) {
        if (j >= c->n) return 0;
        if (s[j] == '"') break;
        if (s[j] != '\\' || j + 1 >= c->n) return 0; /* a raw control character: invalid JSON */
        unsigned cp;
        switch (s[j + 1]) {
        case '"': cp = '"'; break;
        case '\\': cp = '\\'; break;
        case '/': cp = '/'; break;
        case 'b': cp = '\b'; break;
        case 'f': cp = '\f'; break;
        case 'n': cp = '\n'; break;
        case 'r': cp = '\r'; break;
        case 't': cp = '\t'; break;
        case 'u':
            if (!hex4(s + j + 2, c->n - j - 2, &cp)) return 0;
            if (cp >= 0xDC00 && cp <= 0xDFFF) return 0; /* a low surrogate alone: the decoder refuses it */
            if (cp >= 0xD800 && cp <= 0xDBFF) {         /* a pair, or the decoder refuses it */
                unsigned low;
                if (j + 7 >= c->n || s[j + 6] != '\\' || s[j + 7] != 'u' || !hex4(s + j + 8, c->n - j - 8, &low)
                    || low < 0xDC00 || low > 0xDFFF)
                    return 0;
                cp = 0x10000 + ((cp - 0xD800) << 10) + (low - 0xDC00);
                j += 6;
            }
            j += 4;
            break;
        default: return 0;
        }
        j += 2;
        compact_char(c, cp);
        Py_ssize_t run = j;
        while (!(byte_class[(unsigned char)s[j]] & STR_STOP)) j++;
        memcpy(c->out + c->o, s + run, j - run);
        c->o += j - run;
    }
    c->out[c->o++] = '"';
    c->i = j + 1;
    return 1;
}

static inline int compact_string(Compact *c) {
    const char *s = c->s; /* NUL-terminated: a run stops at the end */
    Py_ssize_t j = c->i + 1;
    while (!(byte_class[(unsigned char)s[j]] & STR_STOP)) j++;
    if (j >= c->n || s[j] != '"') return compact_escaped(c, j);
    memcpy(c->out + c->o, s + c->i, j + 1 - c->i); /* no escape (the common case): as it is */
    c->o += j + 1 - c->i;
    c->i = j + 1;
    return 1;
}

static inline int is_digit(char ch) { return ch >= '0' && ch <= '9'; }

static int compact_number(Compact *c) {
    const char *s = c->s;
    Py_ssize_t i = c->i, n = c->n;
    int neg = 0;
    if (s[i] == '-') { neg = 1; i++; }
    Py_ssize_t int_start = i;
    if (i >= n || !is_digit(s[i])) return 0;
    if (s[i] == '0') i++;
    else while (i < n && is_digit(s[i])) i++;
    Py_ssize_t int_len = i - int_start;
    if (i < n && (s[i] == 'e' || s[i] == 'E')) return 0;
    if (i >= n || s[i] != '.') { /* an integer, as written unless it is -0 */
        if (int_len > INT_DIGITS_MAX || (neg && s[int_start] == '0')) return 0;
        memcpy(c->out + c->o, s + c->i, i - c->i);
        c->o += i - c->i;
        c->i = i;
        return 1;
    }
    Py_ssize_t frac_start = ++i;
    while (i < n && is_digit(s[i])) i++;
    Py_ssize_t frac_len = i - frac_start;
    if (!frac_len || (i < n && (s[i] == 'e' || s[i] == 'E')) || int_len > FLOAT_INT_DIGITS_MAX) return 0;
    Py_ssize_t kept = frac_len; /* the fraction without its trailing zeros */
    while (kept && s[frac_start + kept - 1] == '0') kept--;
    /* significant digits: of int part and kept fraction, without leading and trailing zeros */
    int zero_int = s[int_start] == '0';
    Py_ssize_t lead = 0;
    if (zero_int) while (lead < kept && s[frac_start + lead] == '0') lead++;
    Py_ssize_t sig;
    if (!zero_int) {
        sig = int_len + kept;
        if (!kept) { /* an integral value: trailing zeros of the int part are not significant */
            Py_ssize_t t = int_len;
            while (t > 1 && s[int_start + t - 1] == '0') t--;
            sig = t;
        }
    } else {
        sig = kept - lead;
        if (sig && lead > FLOAT_LEAD_ZEROS_MAX) return 0; /* below 1e-4 */
    }
    if (sig > FLOAT_SIG_MAX) return 0;
    Py_ssize_t head = frac_start - c->i; /* sign, int part and the point */
    memcpy(c->out + c->o, s + c->i, head);
    c->o += head;
    if (kept) {
        memcpy(c->out + c->o, s + frac_start, kept);
        c->o += kept;
    } else {
        c->out[c->o++] = '0';
    }
    c->i = i;
    return 1;
}

static int compact_literal(Compact *c, const char *word, Py_ssize_t len) {
    if (c->n - c->i < len || memcmp(c->s + c->i, word, len)) return 0;
    memcpy(c->out + c->o, word, len);
    c->o += len;
    c->i += len;
    return 1;
}

static int compact_object(Compact *c) {
    if (++c->depth > TEXT_DEPTH_MAX) return 0;
    Py_ssize_t base = c->nkeys;
    c->out[c->o++] = '{';
    c->i++;
    skip_ws(c->s, c->n, &c->i);
    int rc = 1;
    if (c->i < c->n && c->s[c->i] == '}') {
        c->i++;
    } else {
        for (;;) {
            if (c->i >= c->n || c->s[c->i] != '"') { rc = 0; break; }
            Py_ssize_t at = c->o;
            if ((rc = compact_string(c)) != 1) break;
            Py_ssize_t len = c->o - at;
            if (c->nkeys - base >= 2 * OBJECT_KEYS_MAX) return 0; /* checked below pairwise: bounded */
            const char *key = c->out + at;
            for (Py_ssize_t k = base; k < c->nkeys; k += 2) { /* a repeated key: the decoder keeps the last */
                const char *seen = c->out + c->keys[k];
                if (c->keys[k + 1] == len && seen[len - 2] == key[len - 2] && !memcmp(seen, key, len)) return 0;
            }
            if (c->nkeys + 2 > c->capkeys) { /* past the caller's stack array: on the heap */
                Py_ssize_t cap = 2 * c->capkeys;
                Py_ssize_t *grown = c->keys == c->stack_keys ? PyMem_Malloc(cap * sizeof(Py_ssize_t))
                                                             : PyMem_Realloc(c->keys, cap * sizeof(Py_ssize_t));
                if (!grown) { PyErr_NoMemory(); return -1; }
                if (c->keys == c->stack_keys) memcpy(grown, c->keys, c->nkeys * sizeof(Py_ssize_t));
                c->keys = grown;
                c->capkeys = cap;
            }
            c->keys[c->nkeys++] = at;
            c->keys[c->nkeys++] = len;
            skip_ws(c->s, c->n, &c->i);
            if (c->i >= c->n || c->s[c->i] != ':') { rc = 0; break; }
            c->out[c->o++] = ':';
            c->i++;
            skip_ws(c->s, c->n, &c->i);
            char ch = c->i < c->n ? c->s[c->i] : 0; /* scalars here, without compact_value's call */
            rc = ch == '"' ? compact_string(c) : ch == '-' || is_digit(ch) ? compact_number(c) : compact_value(c);
            if (rc != 1) break;
            skip_ws(c->s, c->n, &c->i);
            if (c->i < c->n && c->s[c->i] == ',') {
                c->out[c->o++] = ',';
                c->i++;
                skip_ws(c->s, c->n, &c->i);
                continue;
            }
            if (c->i < c->n && c->s[c->i] == '}') { c->i++; break; }
            rc = 0;
            break;
        }
    }
    if (rc == 1) c->out[c->o++] = '}';
    c->nkeys = base;
    c->depth--;
    return rc;
}

static int compact_array(Compact *c) {
    if (++c->depth > TEXT_DEPTH_MAX) return 0;
    c->out[c->o++] = '[';
    c->i++;
    skip_ws(c->s, c->n, &c->i);
    int rc = 1;
    if (c->i < c->n && c->s[c->i] == ']') {
        c->i++;
    } else {
        for (;;) {
            if ((rc = compact_value(c)) != 1) break;
            skip_ws(c->s, c->n, &c->i);
            if (c->i < c->n && c->s[c->i] == ',') {
                c->out[c->o++] = ',';
                c->i++;
                continue;
            }
            if (c->i < c->n && c->s[c->i] == ']') { c->i++; break; }
            rc = 0;
            break;
        }
    }
    if (rc == 1) c->out[c->o++] = ']';
    c->depth--;
    return rc;
}

static int compact_value(Compact *c) {
    skip_ws(c->s, c->n, &c->i);
    if (c->i >= c->n) return 0;
    switch (c->s[c->i]) {
    case '{': return compact_object(c);
    case '[': return compact_array(c);
    case '"': return compact_string(c);
    case 't': return compact_literal(c, "true", 4);
    case 'f': return compact_literal(c, "false", 5);
    case 'n': return compact_literal(c, "null", 4);
    default: return c->s[c->i] == '-' || is_digit(c->s[c->i]) ? compact_number(c) : 0;
    }
}

/* compact(text: str | bytes) -> bytes | None: the JSON object ``text`` as msgspec.json.encode(
 * msgspec.json.decode(text)) writes it, or None when that is not certain here. */
static PyObject *compact(PyObject *self, PyObject *text) {
    (void)self;
    Py_ssize_t n;
    const char *s;
    if (PyBytes_CheckExact(text)) { /* NUL-terminated too; UTF-8 past ASCII is left to the decoder to check */
        s = PyBytes_AS_STRING(text);
        n = PyBytes_GET_SIZE(text);
        if (!ascii_bytes(s, n)) Py_RETURN_NONE;
    } else if (PyUnicode_Check(text)) {
        s = PyUnicode_AsUTF8AndSize(text, &n);
        if (!s) { /* lone surrogates: the decoder refuses them */
            PyErr_Clear();
            Py_RETURN_NONE;
        }
    } else {
        PyErr_SetString(PyExc_TypeError, "compact(text: str | bytes)");
        return NULL;
    }
    Py_ssize_t stack_keys[128];
    Compact c = {s, n, 0, NULL, 0, stack_keys, 0, 128, 0, stack_keys};
    skip_ws(s, n, &c.i);
    if (c.i >= n || s[c.i] != '{') Py_RETURN_NONE;
    PyObject *out = PyBytes_FromStringAndSize(NULL, n); /* never longer than the text */
    if (!out) return NULL;
    c.out = PyBytes_AS_STRING(out);
    int rc = compact_object(&c);
    if (c.keys != c.stack_keys) PyMem_Free(c.keys);
    if (rc == 1) {
        skip_ws(s, n, &c.i);
        if (c.i != n) rc = 0;
    }
    if (rc != 1) {
        Py_DECREF(out);
        if (rc < 0) return NULL;
        Py_RETURN_NONE;
    }
    if (_PyBytes_Resize(&out, c.o) < 0) return NULL;
    return out;
}

/* compact_raw(text: str | bytes) -> msgspec.Raw | None: compact()'s bytes as the Raw an event keeps. */
static PyObject *compact_raw(PyObject *self, PyObject *text) {
    if (!RawType) {
        PyErr_SetString(PyExc_RuntimeError, "_speedups.init_raw() was not called");
        return NULL;
    }
    PyObject *bytes = compact(self, text);
    if (!bytes || bytes == Py_None) return bytes;
    PyObject *raw = PyObject_CallOneArg((PyObject *)RawType, bytes);
    Py_DECREF(bytes);
    return raw;
}

/* ---------------------------------------------------------------- the envelope as JSON text */

/* A str's UTF-8 bytes when msgspec writes them unchanged between quotes (no quote, backslash or
 * control character), else NULL without an error. */
static const char *plain_utf8(PyObject *str, Py_ssize_t *len) {
    const char *u;
    if (PyUnicode_IS_COMPACT_ASCII(str)) {
        u = (const char *)PyUnicode_1BYTE_DATA(str);
        *len = PyUnicode_GET_LENGTH(str);
    } else {
        u = PyUnicode_AsUTF8AndSize(str, len);
        if (!u) {
            PyErr_Clear();
            return NULL;
        }
    }
    return plain_bytes(u, *len) ? u : NULL;
}

typedef struct {
    char *p; /* a buffer on the caller's stack until it grows past it */
    Py_ssize_t n, cap;
    int ascii, heap;
} Out;

/* Room for ``more`` bytes. */
static int out_room(Out *o, Py_ssize_t more) {
    if (o->n + more <= o->cap) return 0;
    Py_ssize_t cap = 2 * (o->n + more);
    char *grown = o->heap ? PyMem_Realloc(o->p, cap) : PyMem_Malloc(cap);
    if (!grown) return PyErr_NoMemory(), -1;
    if (!o->heap) memcpy(grown, o->p, o->n);
    o->heap = 1;
    o->p = grown;
    o->cap = cap;
    return 0;
}

/* ``"str"`` then ``tail`` (a separator, or 0): 1 written; 0 not a plain str (msgspec encodes the
 * event instead); -1 error. */
static int out_str(Out *o, PyObject *str, char tail) {
    Py_ssize_t len;
    const char *u = plain_utf8(str, &len);
    if (!u) return 0;
    if (out_room(o, len + 3) < 0) return -1;
    o->ascii &= PyUnicode_IS_ASCII(str);
    char *w = o->p + o->n;
    *w++ = '"';
    memcpy(w, u, len);
    w += len;
    *w++ = '"';
    if (tail) *w++ = tail;
    o->n = w - o->p;
    return 1;
}

/* The keys of an envelope are the same few str objects event after event: the last ones found
 * plain are remembered (held, so that their address cannot come back as another string). */
#define PLAIN_KEYS 16
static PyObject *plain_keys[PLAIN_KEYS];
static int plain_keys_next;

static int out_key(Out *o, PyObject *key) {
    for (int k = 0; k < PLAIN_KEYS && plain_keys[k]; k++) {
        if (plain_keys[k] != key) continue;
        Py_ssize_t len = PyUnicode_GET_LENGTH(key); /* plain keys are compact ASCII */
        if (out_room(o, len + 3) < 0) return -1;
        char *w = o->p + o->n;
        *w++ = '"';
        memcpy(w, PyUnicode_1BYTE_DATA(key), len);
        w += len;
        *w++ = '"';
        *w++ = ':';
        o->n = w - o->p;
        return 1;
    }
    int rc = out_str(o, key, ':');
    if (rc == 1 && PyUnicode_IS_COMPACT_ASCII(key)) {
        Py_XSETREF(plain_keys[plain_keys_next], Py_NewRef(key));
        plain_keys_next = (plain_keys_next + 1) % PLAIN_KEYS;
    }
    return rc;
}

/* envelope(event: dict) -> str | None: msgspec.json.encode(event).decode() for an event of str,
 * list-of-str and msgspec.Raw values (a bus's envelope), written in one pass; None for anything
 * else (the caller encodes it with msgspec). */
static PyObject *envelope(PyObject *self, PyObject *event) {
    (void)self;
    if (!PyDict_CheckExact(event)) Py_RETURN_NONE;
    char start[1024];
    Out o = {start, 1, sizeof(start), 1, 0};
    start[0] = '{';
    PyObject *key, *value;
    Py_ssize_t pos = 0;
    int rc = 1;
    while (rc == 1 && PyDict_Next(event, &pos, &key, &value)) {
        if (!PyUnicode_CheckExact(key) || (rc = out_key(&o, key)) != 1) break;
        if (PyUnicode_CheckExact(value)) {
            rc = out_str(&o, value, ',');
        } else if (PyList_CheckExact(value)) {
            Py_ssize_t n = PyList_GET_SIZE(value);
            if (out_room(&o, 2) < 0) { rc = -1; break; }   /* rc stays 1: an empty list is written too */
            o.p[o.n++] = '[';
            for (Py_ssize_t i = 0; rc >= 0 && i < n; i++) {
                PyObject *e = PyList_GET_ITEM(value, i);
                rc = PyUnicode_CheckExact(e) ? out_str(&o, e, i + 1 < n ? ',' : 0) : 0;
                if (rc != 1) break;
            }
            if (rc == 1) {
                if (out_room(&o, 2) < 0) { rc = -1; break; }
                o.p[o.n++] = ']';
                o.p[o.n++] = ',';
            }
        } else if (RawType && Py_IS_TYPE(value, RawType)) {
            Py_buffer view;
            if (PyObject_GetBuffer(value, &view, PyBUF_SIMPLE) < 0) { rc = -1; break; }
            if (o.ascii) o.ascii = ascii_bytes(view.buf, view.len);
            if (out_room(&o, view.len + 1) < 0) {
                rc = -1;
            } else {
                memcpy(o.p + o.n, view.buf, view.len);
                o.n += view.len;
                o.p[o.n++] = ',';
            }
            PyBuffer_Release(&view);
        } else {
            rc = 0;
        }
    }
    PyObject *result = NULL;
    if (rc == 1) { /* every member written: the last separator becomes the closing brace */
        if (o.n == 1) o.n++;
        o.p[o.n - 1] = '}';
        if (o.ascii) {
            result = PyUnicode_New(o.n, 127);
            if (result) memcpy(PyUnicode_1BYTE_DATA(result), o.p, o.n);
        } else {
            result = PyUnicode_DecodeUTF8(o.p, o.n, NULL);
        }
    } else if (rc == 0) {
        result = Py_NewRef(Py_None);
    }
    if (o.heap) PyMem_Free(o.p);
    return result;
}

/* Reading compact text: no white space, only the escapes compact() writes. Anything else is
 * refused with ValueError, never read past its end. */
typedef struct {
    const char *s;
    Py_ssize_t n;
    Py_ssize_t *starts; /* element offsets of the arrays being read */
    Py_ssize_t nstarts, capstarts;
    int escapes; /* the text holds a backslash (most do not: then no string needs undoing) */
} Text;

static int text_malformed(void) {
    PyErr_SetString(PyExc_ValueError, "a Raw event value that compact() did not make");
    return -1;
}

/* The closing quote of the string whose text starts at ``from`` (after its opening quote), or
 * NULL: the first quote not escaped (preceded by an even number of backslashes). */
static const char *string_end(const char *s, Py_ssize_t from, Py_ssize_t n, int escapes) {
    if (!escapes) return memchr(s + from, '"', n - from);
    for (Py_ssize_t j = from;;) {
        const char *q = memchr(s + j, '"', n - j);
        if (!q) return NULL;
        Py_ssize_t k = q - s, b = 0;
        while (k - 1 - b >= from && s[k - 1 - b] == '\\') b++;
        if (!(b & 1)) return q;
        j = k + 1;
    }
}

/* A compact string's text with its escapes undone (compact() writes only \" \\ \b \f \n \r \t
 * and \u00xx), into ``buf`` of at least ``n`` bytes: the length, or -1 with ValueError set. */
static Py_ssize_t unescape(const char *p, Py_ssize_t n, char *buf) {
    Py_ssize_t o = 0;
    for (Py_ssize_t i = 0; i < n; i++) {
        if (p[i] != '\\') {
            buf[o++] = p[i];
            continue;
        }
        if (++i >= n) return text_malformed();
        unsigned cp;
        switch (p[i]) {
        case '"': buf[o++] = '"'; break;
        case '\\': buf[o++] = '\\'; break;
        case '/': buf[o++] = '/'; break;
        case 'b': buf[o++] = '\b'; break;
        case 'f': buf[o++] = '\f'; break;
        case 'n': buf[o++] = '\n'; break;
        case 'r': buf[o++] = '\r'; break;
        case 't': buf[o++] = '\t'; break;
        case 'u':
            if (!hex4(p + i + 1, n - i - 1, &cp) || cp >= 0x80) return text_malformed();
            buf[o++] = (char)cp;
            i += 4;
            break;
        default: return text_malformed();
        }
    }
    return o;
}

/* ``unescape`` into a buffer of the caller's, or one allocated here (free it when != stack). */
static char *unescaped(const char *p, Py_ssize_t n, char *stack, Py_ssize_t room, Py_ssize_t *len) {
    char *buf = n <= room ? stack : PyMem_Malloc(n);
    if (!buf) return PyErr_NoMemory(), NULL;
    *len = unescape(p, n, buf);
    if (*len < 0) {
        if (buf != stack) PyMem_Free(buf);
        return NULL;
    }
    return buf;
}

/* Past one value at *i (any kind). */
static int text_skip(const Text *t, Py_ssize_t *i) {
    const char *s = t->s;
    Py_ssize_t n = t->n, j = *i;
    int depth = 0;
    do {
        if (j >= n) return text_malformed();
        char ch = s[j];
        if (ch == '"') {
            const char *end = string_end(s, j + 1, n, t->escapes);
            if (!end) return text_malformed();
            j = end - s + 1;
        } else if (ch == '{' || ch == '[') {
            depth++;
            j++;
        } else if (ch == '}' || ch == ']') {
            if (!depth) return text_malformed();
            depth--;
            j++;
        } else if (ch == ',' || ch == ':') {
            if (!depth) return text_malformed();
            j++;
        } else {
            while (j < n && !(byte_class[(unsigned char)s[j]] & SCALAR_STOP)) j++;
        }
    } while (depth);
    *i = j;
    return 0;
}

/* A str of UTF-8 bytes; ASCII (the common case) copied without the decoder. */
static PyObject *text_str(const char *p, Py_ssize_t n, int escapes) {
    if (escapes && memchr(p, '\\', n)) { /* escaped: undone first */
        char stack[256];
        Py_ssize_t len;
        char *buf = unescaped(p, n, stack, sizeof(stack), &len);
        if (!buf) return NULL;
        PyObject *u = PyUnicode_DecodeUTF8(buf, len, NULL);
        if (buf != stack) PyMem_Free(buf);
        return u;
    }
    if (!ascii_bytes(p, n)) return PyUnicode_DecodeUTF8(p, n, NULL);
    PyObject *u = PyUnicode_New(n, 127);
    if (u) memcpy(PyUnicode_1BYTE_DATA(u), p, n);
    return u;
}

/* The scalar at *i as the decoder makes it (a new reference), *i past it. */
static PyObject *text_scalar(const Text *t, Py_ssize_t *i) {
    const char *s = t->s;
    Py_ssize_t n = t->n, j = *i;
    if (j >= n) return text_malformed(), NULL;
    char ch = s[j];
    if (ch == '"') {
        const char *end = string_end(s, j + 1, n, t->escapes);
        if (!end) return text_malformed(), NULL;
        *i = end - s + 1;
        return text_str(s + j + 1, end - s - j - 1, t->escapes);
    }
    if (ch == 't' || ch == 'f' || ch == 'n') {
        Py_ssize_t len = ch == 'f' ? 5 : 4;
        if (n - j < len) return text_malformed(), NULL;
        *i = j + len;
        return Py_NewRef(ch == 't' ? Py_True : ch == 'f' ? Py_False : Py_None);
    }
    Py_ssize_t k = j;
    int point = 0;
    char buf[64];
    while (k < n && (is_digit(s[k]) || s[k] == '-' || s[k] == '.')) {
        point |= s[k] == '.';
        k++;
    }
    if (k == j || k - j >= (Py_ssize_t)sizeof(buf)) return text_malformed(), NULL;
    memcpy(buf, s + j, k - j);
    buf[k - j] = '\0';
    *i = k;
    if (point) {
        double d = PyOS_string_to_double(buf, NULL, NULL);
        if (d == -1.0 && PyErr_Occurred()) return NULL;
        return PyFloat_FromDouble(d);
    }
    return PyLong_FromString(buf, NULL, 10);
}

/* A trie node's children by their key's bytes, for text: an open-addressing table built on first
 * use and kept in the node's ``index`` slot (a trie never changes once built: a rule change builds
 * a new one). The keys point into the children dict's own str keys, which it keeps alive. */
typedef struct {
    uint64_t hash;
    const char *key;
    Py_ssize_t len;
    PyObject *node;
} ChildSlot;

typedef struct {
    size_t mask;
    ChildSlot slots[];
} ChildIndex;

static inline uint64_t key_hash(const char *p, Py_ssize_t n) { /* FNV-1a */
    uint64_t h = 1469598103934665603ULL;
    for (Py_ssize_t i = 0; i < n; i++) h = (h ^ (unsigned char)p[i]) * 1099511628211ULL;
    return h;
}

/* The table lives in a bytes object in the node's ``index`` slot: freed with the node, and read
 * with PyBytes_AS_STRING (a field access, where a capsule's pointer costs a checked call on every
 * key the text reader looks up). */
static ChildIndex *node_index(PyObject *node) {
    PyObject *held = SLOT(node, G.pn_index);
    if (held != Py_None) return (ChildIndex *)PyBytes_AS_STRING(held);
    PyObject *children = SLOT(node, G.pn_children), *key, *child;
    size_t size = 2;
    while (size < 2 * (size_t)PyDict_GET_SIZE(children)) size *= 2;
    held = PyBytes_FromStringAndSize(NULL, (Py_ssize_t)(sizeof(ChildIndex) + size * sizeof(ChildSlot)));
    if (!held) return NULL;
    ChildIndex *index = (ChildIndex *)PyBytes_AS_STRING(held);
    memset(index, 0, sizeof(ChildIndex) + size * sizeof(ChildSlot));
    index->mask = size - 1;
    Py_ssize_t pos = 0, len;
    while (PyDict_Next(children, &pos, &key, &child)) {
        const char *u = PyUnicode_AsUTF8AndSize(key, &len);
        if (!u) {
            Py_DECREF(held);
            return NULL;
        }
        uint64_t h = key_hash(u, len);
        size_t at = h & index->mask;
        while (index->slots[at].key) at = (at + 1) & index->mask;
        index->slots[at] = (ChildSlot){h, u, len, child};
    }
    Py_SETREF(SLOT(node, G.pn_index), held);
    return index;
}

/* The child of ``node`` for the key of ``len`` bytes at ``key`` (borrowed), NULL when none (an
 * error only if one is set). */
static PyObject *text_child(PyObject *node, const char *key, Py_ssize_t len) {
    ChildIndex *index = node_index(node);
    if (!index) return NULL;
    uint64_t h = key_hash(key, len);
    for (size_t at = h & index->mask;; at = (at + 1) & index->mask) {
        const ChildSlot *slot = &index->slots[at];
        if (!slot->key) return NULL;
        if (slot->hash == h && slot->len == len && !memcmp(slot->key, key, len)) return slot->node;
    }
}

/* text_child for a key as the text has it (escapes undone first). */
static PyObject *text_key(const Text *t, PyObject *parent, const char *key, Py_ssize_t len) {
    if (!t->escapes || !memchr(key, '\\', len)) return text_child(parent, key, len);
    char stack[256];
    Py_ssize_t n;
    char *buf = unescaped(key, len, stack, sizeof(stack), &n);
    if (!buf) return NULL;
    PyObject *node = text_child(parent, buf, n);
    if (buf != stack) PyMem_Free(buf);
    return node;
}

/* A scalar kept alive for the match (``put`` and ``add_member`` borrow or copy it). */
static PyObject *text_owned(Text *t, Py_ssize_t *i, Flat *fl) {
    PyObject *v = text_scalar(t, i);
    if (v && push(&fl->owned, v) < 0) {
        Py_DECREF(v);
        return NULL;
    }
    return v;
}

/* The offsets of the elements of the array at *i, after the ``base`` already in t->starts; *i
 * past it. 1 if some element is an object or an array, 0 if none, -1 on error. */
static int text_elements_of(Text *t, Py_ssize_t *i) {
    const char *s = t->s;
    Py_ssize_t j = *i + 1;
    int containers = 0;
    if (j < t->n && s[j] == ']') {
        *i = j + 1;
        return 0;
    }
    for (;;) {
        if (j >= t->n) return text_malformed();
        if (t->nstarts == t->capstarts) {
            Py_ssize_t cap = t->capstarts ? 2 * t->capstarts : 64;
            Py_ssize_t *grown = PyMem_Realloc(t->starts, cap * sizeof(Py_ssize_t));
            if (!grown) return PyErr_NoMemory(), -1;
            t->starts = grown;
            t->capstarts = cap;
        }
        t->starts[t->nstarts++] = j;
        containers |= s[j] == '{' || s[j] == '[';
        if (text_skip(t, &j) < 0) return -1;
        if (j < t->n && s[j] == ',') { j++; continue; }
        if (j < t->n && s[j] == ']') break;
        return text_malformed();
    }
    *i = j + 1;
    return containers;
}

static int text_entries(Text *t, Py_ssize_t *i, PyObject *parent, PyObject *mem, Flat *fl);

/* The array at ``at`` starts with an object or an array: it holds containers, no scan needed. */
static inline int leads_container(const Text *t, Py_ssize_t at) {
    return at + 1 < t->n && (t->s[at + 1] == '{' || t->s[at + 1] == '[');
}

/* As elements(): the leaves of the array at *i (holding objects or arrays), with memberships. */
static int text_array_members(Text *t, Py_ssize_t *i, PyObject *node, PyObject *base, Flat *fl) {
    PyObject *fid = SLOT(node, G.pn_field), *children = SLOT(node, G.pn_children);
    PyObject *array_id = PyLong_FromSsize_t(*i); /* unique in the event, as id(list) is */
    if (!array_id) return -1;
    Py_ssize_t first = t->nstarts;
    int rc = text_elements_of(t, i);
    Py_ssize_t count = t->nstarts - first;
    rc = rc < 0 ? -1 : 0;
    for (Py_ssize_t k = 0; rc == 0 && k < count; k++) {
        Py_ssize_t at = t->starts[first + k];
        char ch = t->s[at];
        if (ch == '{' || ch == '[') {
            if (ch == '{' && PyDict_GET_SIZE(children) == 0) continue;
            PyObject *index = PyLong_FromSsize_t(k);
            PyObject *pair = index ? PyTuple_Pack(2, array_id, index) : NULL;
            Py_XDECREF(index);
            if (!pair) { rc = -1; break; }
            Py_ssize_t nb = PyTuple_GET_SIZE(base);
            PyObject *m = PyTuple_New(nb + 1);
            if (!m) { Py_DECREF(pair); rc = -1; break; }
            for (Py_ssize_t j = 0; j < nb; j++) PyTuple_SET_ITEM(m, j, Py_NewRef(PyTuple_GET_ITEM(base, j)));
            PyTuple_SET_ITEM(m, nb, pair);
            rc = ch == '{' ? text_entries(t, &at, node, m, fl) : text_array_members(t, &at, node, m, fl);
            Py_DECREF(m);
        } else if (fid != Py_None) {
            PyObject *v = text_owned(t, &at, fl);
            rc = v ? add_member(fl, fid, v, PyTuple_GET_SIZE(base) ? base : Py_None) : -1;
        }
    }
    t->nstarts = first;
    Py_DECREF(array_id);
    return rc;
}

static int text_entries(Text *t, Py_ssize_t *i, PyObject *parent, PyObject *mem, Flat *fl);

/* As flatten_value() (``mem`` NULL: a leaf goes to F) or members() does for one value (every leaf
 * under it goes to X with the membership ``mem``), for the value at *i read at the trie ``node``. */
static int text_value(Text *t, Py_ssize_t *i, PyObject *node, PyObject *mem, Flat *fl) {
    PyObject *fid = SLOT(node, G.pn_field);
    char ch = t->s[*i];
    if (ch == '{') {
        PyObject *sub = SLOT(node, G.pn_children);
        return PyDict_GET_SIZE(sub) ? text_entries(t, i, node, mem, fl) : text_skip(t, i);
    }
    if (ch == '[') {
        Py_ssize_t at = *i, first = t->nstarts;
        int rc = leads_container(t, *i) ? 1 : text_elements_of(t, i);
        if (rc == 1) { /* objects or arrays inside: every leaf below carries its membership */
            t->nstarts = first;
            rc = text_array_members(t, &at, node, mem ? mem : G.empty_tuple, fl);
            *i = at;
            return rc;
        }
        for (Py_ssize_t k = first; rc == 0 && k < t->nstarts && fid != Py_None; k++) {
            Py_ssize_t e = t->starts[k];
            PyObject *v = text_owned(t, &e, fl);
            rc = !v ? -1 : mem ? add_member(fl, fid, v, mem) : put(fl, fid, v);
        }
        t->nstarts = first;
        return rc;
    }
    if (fid == Py_None) return text_skip(t, i);
    PyObject *v = text_owned(t, i, fl);
    return !v ? -1 : mem ? add_member(fl, fid, v, mem) : put(fl, fid, v);
}

/* As flatten_object() (``mem`` NULL) or members(), for the object at *i read at the trie node
 * ``parent``: its keys in the text's order. */
static int text_entries(Text *t, Py_ssize_t *i, PyObject *parent, PyObject *mem, Flat *fl) {
    const char *s = t->s;
    Py_ssize_t j = *i + 1;
    if (j < t->n && s[j] == '}') {
        *i = j + 1;
        return 0;
    }
    for (;;) {
        if (j >= t->n || s[j] != '"') return text_malformed();
        const char *end = string_end(s, j + 1, t->n, t->escapes);
        if (!end || end + 1 >= s + t->n || end[1] != ':') return text_malformed();
        PyObject *node = text_key(t, parent, s + j + 1, end - s - j - 1);
        if (!node && PyErr_Occurred()) return -1;
        j = end - s + 2;
        if (j >= t->n) return text_malformed();
        int rc = node ? text_value(t, &j, node, mem, fl) : text_skip(t, &j);
        if (rc < 0) return -1;
        if (j < t->n && s[j] == ',') { j++; continue; }
        if (j < t->n && s[j] == '}') break;
        return text_malformed();
    }
    *i = j + 1;
    return 0;
}

/* A msgspec.Raw met where a decoded value would be, read at the trie ``node``; ``whole`` is the
 * trie's root when the Raw is the whole event (then an object), else NULL. */
static int flatten_raw(PyObject *raw, PyObject *node, PyObject *whole, Flat *fl) {
    Py_buffer view;
    if (PyObject_GetBuffer(raw, &view, PyBUF_SIMPLE) < 0) return -1;
    Text t = {view.buf, view.len, NULL, 0, 0, memchr(view.buf, '\\', view.len) != NULL};
    Py_ssize_t i = 0;
    int rc = t.n && (node != whole || t.s[0] == '{') ? text_value(&t, &i, node, NULL, fl) : text_malformed();
    if (rc == 0 && i != t.n) rc = text_malformed();
    PyMem_Free(t.starts);
    PyBuffer_Release(&view);
    return rc;
}

/* ---------------------------------------------------------------- family lookups */

/* A Python family method's answer: call it with a fresh list, push what it appended. */
static int ask_python(PyObject *op, PyObject *value, PyObject *key, Stack *out) {
    PyObject *found = PyList_New(0);
    if (!found) return -1;
    PyObject *args[3] = {value, key ? key : found, found};
    PyObject *r = PyObject_Vectorcall(op, args, key ? 3 : 2, NULL);
    int rc = -1;
    if (r) {
        Py_DECREF(r);
        rc = push_all(out, found);
    }
    Py_DECREF(found); /* the states stay alive: the machine holds them */
    return rc;
}

static int push_found(PyObject *map, PyObject *key, Stack *out) {
    if (!PyDict_GET_SIZE(map)) return 0; /* an edge with no exact values: no hash, no probe */
    PyObject *found = PyDict_GetItemWithError(map, key);
    if (found) return push_all(out, found);
    return PyErr_Occurred() ? -1 : 0;
}

/* str.lower(), without a method call for ASCII text. New reference. */
static PyObject *lowered(PyObject *s) {
    if (!PyUnicode_IS_ASCII(s)) return PyObject_CallMethod(s, "lower", NULL);
    Py_ssize_t n = PyUnicode_GET_LENGTH(s);
    const Py_UCS1 *d = PyUnicode_1BYTE_DATA(s);
    Py_ssize_t i = 0;
    while (i < n && !(d[i] >= 'A' && d[i] <= 'Z')) i++;
    if (i == n) return Py_NewRef(s);
    PyObject *r = PyUnicode_New(n, 127);
    if (!r) return NULL;
    Py_UCS1 *w = PyUnicode_1BYTE_DATA(r);
    for (i = 0; i < n; i++) w[i] = (d[i] >= 'A' && d[i] <= 'Z') ? (Py_UCS1)(d[i] + 32) : d[i];
    return r;
}

/* AffixTable.collect: the items stored under every prefix of s[start:] (or suffix of s), probing
 * only the lengths of the affixes that share its first (last) character. */
static int affix_collect(PyObject *table, PyObject *s, Py_ssize_t start, int suffix, Stack *out) {
    PyObject *map = SLOT(SLOT(table, G.af_table), G.tb_map);
    if (PyDict_GET_SIZE(map) == 0) return 0;
    PyObject *has_empty = SLOT(table, G.af_has_empty); /* NULL: a table unpickled from before the slot */
    if (start == 0 && has_empty != Py_False) { /* the empty affix (``{"prefix": ""}``) is every value's */
        PyObject *empty = PyDict_GetItemWithError(map, G.empty);
        if (empty && push_all(out, empty) < 0) return -1;
        if (!empty && PyErr_Occurred()) return -1;
    }
    Py_ssize_t n = PyUnicode_GET_LENGTH(s);
    if (start >= n) return 0;
    Py_ssize_t at = suffix ? n - 1 : start;
    Py_UCS4 c = PyUnicode_READ_CHAR(s, at);
    PyObject *lengths, *ascii_ends = SLOT(table, G.af_ascii_ends);
    if (c < 128 && PyList_CheckExact(ascii_ends) && PyList_GET_SIZE(ascii_ends) == 128) {
        lengths = PyList_GET_ITEM(ascii_ends, c); /* by_end's entry for an ASCII end, or None */
        if (lengths == Py_None) return 0;
    } else {
        PyObject *end = PyUnicode_Substring(s, at, at + 1);
        if (!end) return -1;
        lengths = PyDict_GetItemWithError(SLOT(table, G.af_by_end), end);
        Py_DECREF(end);
        if (!lengths) return PyErr_Occurred() ? -1 : 0;
    }
    lengths = SLOT(lengths, G.ln_sorted);
    for (Py_ssize_t i = 0; i < PyList_GET_SIZE(lengths); i++) {
        Py_ssize_t len = small_int(PyList_GET_ITEM(lengths, i));
        if (start + len > n) break;
        PyObject *piece = suffix ? PyUnicode_Substring(s, n - len, n) : PyUnicode_Substring(s, start, start + len);
        if (!piece) return -1;
        int rc = push_found(map, piece, out);
        Py_DECREF(piece);
        if (rc < 0) return -1;
    }
    return 0;
}

static int affixes(PyObject *family, PyObject *s, int suffix, int fold, Stack *out) {
    PyObject *text = fold ? lowered(s) : Py_NewRef(s);
    if (!text) return -1;
    int rc = affix_collect(SLOT(family, G.ff_affixes), text, 0, suffix, out);
    Py_DECREF(text);
    return rc;
}

/* The groups of *x* patterns whose piece s contains (WildcardIndex._middles). */
static int middles(PyObject *index, PyObject *s, Stack *out) {
    PyObject *table = SLOT(index, G.wi_middles);
    PyObject *map = SLOT(SLOT(table, G.af_table), G.tb_map), *piece, *group;
    Py_ssize_t pos = 0;
    if (PyDict_GET_SIZE(map) <= MIDDLE_SCAN_MAX) {
        while (PyDict_Next(map, &pos, &piece, &group)) {
            int in = PyUnicode_Contains(s, piece);
            if (in < 0 || (in && push_all(out, group) < 0)) return -1;
        }
        return 0;
    }
    Stack found = {0};
    int rc = 0;
    Py_ssize_t n = PyUnicode_GET_LENGTH(s);
    PyObject *ascii_ends = SLOT(table, G.af_ascii_ends);
    /* (the first start also probes the empty piece, when the table has one) */
    int by_code = PyList_CheckExact(ascii_ends) && PyList_GET_SIZE(ascii_ends) == 128;
    PyObject *has_empty = SLOT(table, G.af_has_empty);
    int kind = PyUnicode_KIND(s);
    const void *data = PyUnicode_DATA(s);
    for (Py_ssize_t i = 0; rc == 0 && i < n; i++) {
        Py_UCS4 c = PyUnicode_READ(kind, data, i); /* affix_collect's first test, without the call */
        if (by_code && c < 128 && PyList_GET_ITEM(ascii_ends, c) == Py_None && (i || has_empty == Py_False))
            continue;
        rc = affix_collect(table, s, i, 0, &found);
    }
    for (Py_ssize_t i = 0; rc == 0 && i < found.n; i++) {
        int seen = 0; /* a piece seen twice in the value must not check its patterns twice */
        for (Py_ssize_t j = 0; j < i && !seen; j++) seen = found.items[j] == found.items[i];
        if (!seen) rc = push(out, found.items[i]);
    }
    PyMem_Free(found.items);
    return rc;
}

/* WildcardIndex.collect: the item of every pattern s matches. */
static int wildcards(PyObject *index, PyObject *s, Stack *out) {
    if (push_found(SLOT(SLOT(index, G.wi_exact), G.tb_map), s, out) < 0) return -1;
    PyObject *every = SLOT(SLOT(index, G.wi_every), G.tb_map);
    if (PyDict_GET_SIZE(every) && push_found(every, Py_None, out) < 0) return -1;
    Stack found = {0};
    int rc = affix_collect(SLOT(index, G.wi_prefixes), s, 0, 0, &found);
    if (rc == 0) rc = affix_collect(SLOT(index, G.wi_suffixes), s, 0, 1, &found);
    if (rc == 0) rc = middles(index, s, &found);
    Py_ssize_t n = PyUnicode_GET_LENGTH(s);
    for (Py_ssize_t i = 0; rc == 0 && i < found.n; i++) { /* (pattern, item): what the anchor left */
        PyObject *w = PyTuple_GET_ITEM(found.items[i], 0), *item = PyTuple_GET_ITEM(found.items[i], 1);
        PyObject *check = SLOT(w, G.wc_check), *tail = SLOT(w, G.wc_tail);
        int ok;
        if (check == Py_None) {
            ok = 1;
        } else if (PyUnicode_GET_LENGTH(tail)) {
            ok = n >= small_int(SLOT(w, G.wc_least)) && PyUnicode_Tailmatch(s, tail, 0, n, 1) == 1;
        } else {
            PyObject *m = PyObject_CallOneArg(check, s);
            if (!m) { rc = -1; break; }
            ok = m != Py_None;
            Py_DECREF(m);
        }
        if (ok) rc = push(out, item);
    }
    PyMem_Free(found.items);
    return rc;
}

/* AnythingButFamily: every state but those whose condition the value proves excluded. */
static int mark_positions(PyObject *positions, char *marks) {
    PyObject *it = PyObject_GetIter(positions), *j;
    if (!it) return -1;
    while ((j = PyIter_Next(it))) {
        marks[small_int(j)] = 1;
        Py_DECREF(j);
    }
    Py_DECREF(it);
    return PyErr_Occurred() ? -1 : 0;
}

static int push_unmarked(PyObject *states, const char *marks, Stack *out) {
    for (Py_ssize_t j = 0; j < PyTuple_GET_SIZE(states); j++)
        if (!marks[j] && push(out, PyTuple_GET_ITEM(states, j)) < 0) return -1;
    return 0;
}

static int anything_but_str(PyObject *op, PyObject *family, PyObject *s, Stack *out) {
    PyObject *states = SLOT(family, G.ab_states);
    Py_ssize_t n = PyTuple_GET_SIZE(states);
    PyObject *found = PyDict_GetItemWithError(SLOT(family, G.ab_exact), s);
    if (!found && PyErr_Occurred()) return -1;
    if (found && SLOT(family, G.ab_exact_only) == Py_True && 2 * PySet_GET_SIZE(found) > n)
        return ask_python(op, s, NULL, out); /* the kept answer for a heavily excluded value */
    char *marks = PyMem_Calloc(n ? n : 1, 1);
    if (!marks) {
        PyErr_NoMemory();
        return -1;
    }
    int rc = found ? mark_positions(found, marks) : 0;
    PyObject *folded = SLOT(family, G.ab_folded);
    if (rc == 0 && folded != Py_None) {
        PyObject *low = lowered(s);
        PyObject *more = low ? PyDict_GetItemWithError(folded, low) : NULL;
        Py_XDECREF(low);
        if (more) rc = mark_positions(more, marks);
        else if (!low || PyErr_Occurred()) rc = -1;
    }
    if (rc == 0 && SLOT(family, G.ab_exact_only) != Py_True) {
        Stack excluded = {0};
        PyObject *prefixes = SLOT(family, G.ab_prefixes), *suffixes = SLOT(family, G.ab_suffixes);
        PyObject *patterns = SLOT(family, G.ab_wildcards);
        if (prefixes != Py_None) rc = affix_collect(prefixes, s, 0, 0, &excluded);
        if (rc == 0 && suffixes != Py_None) rc = affix_collect(suffixes, s, 0, 1, &excluded);
        if (rc == 0 && patterns != Py_None) rc = wildcards(patterns, s, &excluded);
        for (Py_ssize_t i = 0; rc == 0 && i < excluded.n; i++) marks[small_int(excluded.items[i])] = 1;
        PyMem_Free(excluded.items);
    }
    if (rc == 0) rc = push_unmarked(states, marks, out);
    PyMem_Free(marks);
    return rc;
}

static int anything_but_num(PyObject *family, PyObject *key, Stack *out) {
    PyObject *states = SLOT(family, G.ab_states);
    PyObject *found = key == Py_None ? NULL : PyDict_GetItemWithError(SLOT(family, G.ab_numbers), key);
    if (!found) return PyErr_Occurred() ? -1 : push_all(out, states);
    char *marks = PyMem_Calloc(PyTuple_GET_SIZE(states) + 1, 1);
    if (!marks) {
        PyErr_NoMemory();
        return -1;
    }
    int rc = mark_positions(found, marks);
    if (rc == 0) rc = push_unmarked(states, marks, out);
    PyMem_Free(marks);
    return rc;
}

/* bisect.bisect_left over a sorted list of numbers: exact doubles, or any key by comparison. */
static Py_ssize_t bisect_double(PyObject *points, double key, int *equal) {
    Py_ssize_t lo = 0, hi = PyList_GET_SIZE(points);
    while (lo < hi) {
        Py_ssize_t mid = (lo + hi) / 2;
        if (PyFloat_AsDouble(PyList_GET_ITEM(points, mid)) < key) lo = mid + 1;
        else hi = mid;
    }
    *equal = lo < PyList_GET_SIZE(points) && PyFloat_AsDouble(PyList_GET_ITEM(points, lo)) == key;
    return lo;
}

static Py_ssize_t bisect_object(PyObject *points, PyObject *key, int *equal) {
    Py_ssize_t lo = 0, hi = PyList_GET_SIZE(points);
    while (lo < hi) {
        Py_ssize_t mid = (lo + hi) / 2;
        int lt = PyObject_RichCompareBool(PyList_GET_ITEM(points, mid), key, Py_LT);
        if (lt < 0) return -1;
        if (lt) lo = mid + 1;
        else hi = mid;
    }
    *equal = 0;
    if (lo < PyList_GET_SIZE(points)) {
        int eq = PyObject_RichCompareBool(PyList_GET_ITEM(points, lo), key, Py_EQ);
        if (eq < 0) return -1;
        *equal = eq;
    }
    return lo;
}

/* IntervalIndex.hits: the next states of the ranges holding the key's elementary interval. */
static int interval_hits(PyObject *index, Py_ssize_t at, int equal, Stack *out) {
    Py_ssize_t region = 2 * at + (equal ? 1 : 0);
    PyObject *regions = SLOT(index, G.ii_regions);
    if (regions != Py_None) return push_all(out, PyList_GET_ITEM(regions, region));
    PyObject *tree = SLOT(index, G.ii_tree);
    for (Py_ssize_t node = region + small_int(SLOT(index, G.ii_leaves)); node; node >>= 1)
        if (push_all(out, PyList_GET_ITEM(tree, node)) < 0) return -1;
    return 0;
}

/* A dotted-quad IPv4 address as ops/cidr._ipv4 reads it, or -1. */
static long long ipv4(PyObject *s) {
    if (!PyUnicode_IS_ASCII(s)) return -1;
    Py_ssize_t n = PyUnicode_GET_LENGTH(s);
    const Py_UCS1 *d = PyUnicode_1BYTE_DATA(s);
    long long value = 0;
    int parts = 0;
    Py_ssize_t i = 0;
    while (parts < 4) {
        Py_ssize_t start = i;
        int octet = 0;
        while (i < n && d[i] >= '0' && d[i] <= '9' && i - start < 4) octet = octet * 10 + (d[i++] - '0');
        Py_ssize_t len = i - start;
        if (len == 0 || len > 3 || (len > 1 && d[start] == '0') || octet > 255) return -1;
        value = (value << 8) | octet;
        parts++;
        if (parts < 4) {
            if (i >= n || d[i] != '.') return -1;
            i++;
        }
    }
    return i == n ? value : -1;
}

static int cidr(PyObject *op, PyObject *family, PyObject *s, Stack *out) {
    if (PyUnicode_FindChar(s, ':', 0, PyUnicode_GET_LENGTH(s), 1) != -1)
        return ask_python(op, s, NULL, out); /* IPv6: ipaddress does the parsing */
    long long v4 = ipv4(s);
    if (v4 < 0) return 0;
    PyObject *index = PyDict_GetItemWithError(SLOT(family, G.cf_indexes), G.four);
    if (!index) return PyErr_Occurred() ? -1 : 0;
    PyObject *key = PyLong_FromLongLong(v4);
    if (!key) return -1;
    int equal;
    Py_ssize_t at = bisect_object(SLOT(index, G.ii_points), key, &equal);
    Py_DECREF(key);
    return at < 0 ? -1 : interval_hits(index, at, equal, out);
}

static int on_str(PyObject *op, PyObject *s, Stack *out) {
    PyObject *family = PyMethod_Check(op) ? PyMethod_GET_SELF(op) : NULL;
    PyTypeObject *t = family ? Py_TYPE(family) : NULL;
    if (t == G.PrefixFamily) return affixes(family, s, 0, 0, out);
    if (t == G.SuffixFamily) return affixes(family, s, 1, 0, out);
    if (t == G.PrefixIcFamily) return affixes(family, s, 0, 1, out);
    if (t == G.SuffixIcFamily) return affixes(family, s, 1, 1, out);
    if (t == G.EqicFamily) {
        PyObject *low = lowered(s);
        if (!low) return -1;
        int rc = push_found(SLOT(SLOT(family, G.eq_table), G.tb_map), low, out);
        Py_DECREF(low);
        return rc;
    }
    if (t == G.CidrFamily) return cidr(op, family, s, out);
    if (t == G.ExistsFamily) return push_found(SLOT(SLOT(family, G.ef_table), G.tb_map), Py_None, out);
    if (t == G.WildcardFamily) return wildcards(SLOT(family, G.wf_index), s, out);
    if (t == G.AnythingButFamily) return anything_but_str(op, family, s, out);
    return ask_python(op, s, NULL, out);
}

static int on_num(PyObject *op, PyObject *v, PyObject *key, Stack *out) {
    PyObject *family = PyMethod_Check(op) ? PyMethod_GET_SELF(op) : NULL;
    PyTypeObject *t = family ? Py_TYPE(family) : NULL;
    if (t == G.NumberFamily && PyDict_GET_SIZE(SLOT(SLOT(family, G.nf_texts), G.tb_map)) == 0)
        return key == Py_None ? 0 : push_found(SLOT(SLOT(family, G.nf_keys), G.tb_map), key, out);
    if (t == G.RangeFamily && PyFloat_CheckExact(key)) {
        PyObject *index = SLOT(family, G.rf_index);
        int equal;
        Py_ssize_t at = bisect_double(SLOT(index, G.ii_points), PyFloat_AS_DOUBLE(key), &equal);
        return interval_hits(index, at, equal, out);
    }
    if (t == G.RangeFamily && key == Py_None) return 0;
    if (t == G.ExistsFamily) return push_found(SLOT(SLOT(family, G.ef_table), G.tb_map), Py_None, out);
    if (t == G.AnythingButFamily) return anything_but_num(family, key, out);
    return ask_python(op, v, key, out);
}

static int on_lit(PyObject *op, PyObject *v, Stack *out) {
    PyObject *family = PyMethod_Check(op) ? PyMethod_GET_SELF(op) : NULL;
    if (family && Py_TYPE(family) == G.ExistsFamily)
        return push_found(SLOT(SLOT(family, G.ef_table), G.tb_map), Py_None, out);
    if (family && Py_TYPE(family) == G.AnythingButFamily) return push_all(out, SLOT(family, G.ab_states));
    return ask_python(op, v, NULL, out);
}

/* The flavour's comparable key of an event number: eventbridge_number in C, else the Python one. */
static PyObject *number_key(PyObject *numkey, PyObject *v) {
    if (numkey != G.eb_numkey) return PyObject_CallOneArg(numkey, v);
    double d;
    if (PyFloat_CheckExact(v)) {
        d = PyFloat_AS_DOUBLE(v);
    } else {
        d = PyLong_AsDouble(v);
        if (d == -1.0 && PyErr_Occurred()) {
            if (!PyErr_ExceptionMatches(PyExc_OverflowError)) return NULL;
            PyErr_Clear();
            Py_RETURN_NONE;
        }
    }
    if (!isfinite(d)) Py_RETURN_NONE;
    return PyFloat_FromDouble(d + 0.0); /* -0.0 -> 0.0 */
}

/* _walk.lookup: push the next states one value (or each of several) reaches over an edge. */
static int lookup(PyObject *e, PyObject *v, PyObject *numkey, Stack *out) {
    PyObject *ops;
    if (PyUnicode_CheckExact(v)) {
        if (push_found(SLOT(e, G.ed_exact), v, out) < 0) return -1;
        ops = SLOT(e, G.ed_on_str);
        for (Py_ssize_t i = 0; i < PyTuple_GET_SIZE(ops); i++)
            if (on_str(PyTuple_GET_ITEM(ops, i), v, out) < 0) return -1;
    } else if (PyLong_CheckExact(v) || PyFloat_CheckExact(v)) {
        ops = SLOT(e, G.ed_on_num);
        if (PyTuple_GET_SIZE(ops) == 0) return 0;
        PyObject *key = number_key(numkey, v);
        if (!key) return -1;
        int rc = 0;
        for (Py_ssize_t i = 0; rc == 0 && i < PyTuple_GET_SIZE(ops); i++)
            rc = on_num(PyTuple_GET_ITEM(ops, i), v, key, out);
        Py_DECREF(key);
        return rc;
    } else if (Py_IS_TYPE(v, G.Values)) {
        for (Py_ssize_t i = 0; i < PyList_GET_SIZE(v); i++)
            if (lookup(e, PyList_GET_ITEM(v, i), numkey, out) < 0) return -1;
    } else {
        if (push_found(SLOT(e, G.ed_exact), v, out) < 0) return -1;
        ops = SLOT(e, G.ed_on_lit);
        for (Py_ssize_t i = 0; i < PyTuple_GET_SIZE(ops); i++)
            if (on_lit(PyTuple_GET_ITEM(ops, i), v, out) < 0) return -1;
    }
    return 0;
}

/* ---------------------------------------------------------------- the walk (as _walk.walk) */

static int by_address(const void *a, const void *b) {
    uintptr_t x = (uintptr_t) * (PyObject *const *)a, y = (uintptr_t) * (PyObject *const *)b;
    return x < y ? -1 : x > y;
}

/* Push the distinct states of ``found`` (one lookup may name a state twice). */
static int push_distinct(Stack *todo, Stack *found) {
    if (found->n > DEDUP_SCAN_MAX) {
        qsort(found->items, (size_t)found->n, sizeof(PyObject *), by_address);
        for (Py_ssize_t i = 0; i < found->n; i++)
            if ((i == 0 || found->items[i] != found->items[i - 1]) && push(todo, found->items[i]) < 0) return -1;
        return 0;
    }
    for (Py_ssize_t i = 0; i < found->n; i++) {
        int seen = 0;
        for (Py_ssize_t j = 0; j < i && !seen; j++) seen = found->items[j] == found->items[i];
        if (!seen && push(todo, found->items[i]) < 0) return -1;
    }
    return 0;
}

/* Follow one edge for the value v of its field; a field with several values, or an edge whose steps
 * have overlapping conditions, may name a state twice. */
static int follow(PyObject *e, PyObject *v, PyObject *numkey, Stack *todo, Stack *tmp) {
    int multi = int_true(SLOT(e, G.ed_multi));
    if (multi < 0) return -1;
    if (multi || Py_IS_TYPE(v, G.Values)) {
        tmp->n = 0;
        if (lookup(e, v, numkey, tmp) < 0) return -1;
        return push_distinct(todo, tmp);
    }
    return lookup(e, v, numkey, todo);
}

/* Values inside arrays of objects, from a state reached with no membership: (state, mem, False)
 * items for walk_arrays. */
static int array_values(PyObject *e, PyObject *values, PyObject *numkey, PyObject *arrays, Stack *tmp) {
    for (Py_ssize_t i = 0; i < PyList_GET_SIZE(values); i++) {
        PyObject *leaf = PyList_GET_ITEM(values, i);
        tmp->n = 0;
        if (lookup(e, PyTuple_GET_ITEM(leaf, 0), numkey, tmp) < 0) return -1;
        for (Py_ssize_t j = 0; j < tmp->n; j++) {
            PyObject *item = PyTuple_Pack(3, tmp->items[j], PyTuple_GET_ITEM(leaf, 1), Py_False);
            if (!item) return -1;
            int rc = PyList_Append(arrays, item);
            Py_DECREF(item);
            if (rc < 0) return -1;
        }
    }
    return 0;
}

static int fidset_maybe(const FidSet *set, PyObject *fid) {
    Py_ssize_t v = small_int(fid);
    if (v >= 0 && v < FID_BITS) return (set->bits[v >> 3] >> (v & 7)) & 1;
    PyErr_Clear();
    return set->big;
}

static int walk(PyObject *root, Flat *fl, PyObject *numkey, PyObject *out, PyObject *arrays) {
    Stack todo = fl->todo, tmp = fl->tmp; /* buffers reused; handed back below */
    todo.n = tmp.n = 0;
    PyObject *X = PyDict_GET_SIZE(fl->X) ? fl->X : NULL;
    const FidSet *in_f = &fl->in_f, *in_x = &fl->in_x;
    int rc = push(&todo, root);
    while (rc == 0 && todo.n) {
        PyObject *s = todo.items[--todo.n];
        PyObject *rules = SLOT(s, G.st_rules);
        for (Py_ssize_t i = 0; rc == 0 && i < PyTuple_GET_SIZE(rules); i++)
            rc = PySet_Add(out, PyTuple_GET_ITEM(rules, i));
        PyObject *edges = SLOT(s, G.st_edges);
        Py_ssize_t n = PyTuple_GET_SIZE(edges);
        if (rc == 0 && n > EDGE_SCAN_MAX && flat_size(fl) < n && !X) {
            PyObject *by_fid = SLOT(s, G.st_by_fid), *fid, *v;
            for (Py_ssize_t i = 0; rc == 0 && i < fl->order.n; i++) {
                fid = fl->order.items[i];
                PyObject *e = PyDict_GetItemWithError(by_fid, fid);
                if (e) rc = follow(e, fl->fv[small_int(fid)], numkey, &todo, &tmp);
                else if (PyErr_Occurred()) rc = -1;
            }
            Py_ssize_t pos = 0;
            while (rc == 0 && PyDict_Next(fl->big, &pos, &fid, &v)) {
                PyObject *e = PyDict_GetItemWithError(by_fid, fid);
                if (e) rc = follow(e, v, numkey, &todo, &tmp);
                else if (PyErr_Occurred()) rc = -1;
            }
        } else {
            for (Py_ssize_t i = 0; rc == 0 && i < n; i++) {
                PyObject *pair = PyTuple_GET_ITEM(edges, i);
                PyObject *fid = PyTuple_GET_ITEM(pair, 0), *e = PyTuple_GET_ITEM(pair, 1);
                if (X && fidset_maybe(in_x, fid)) {
                    PyObject *values = PyDict_GetItemWithError(X, fid);
                    if (values) rc = array_values(e, values, numkey, arrays, &tmp);
                    else if (PyErr_Occurred()) rc = -1;
                    if (rc < 0) break;
                }
                if (!fidset_maybe(in_f, fid)) continue;
                PyObject *v = flat_get(fl, fid);
                if (v) rc = follow(e, v, numkey, &todo, &tmp);
                else if (PyErr_Occurred()) rc = -1;
            }
        }
        PyObject *absent = SLOT(s, G.st_absent);
        for (Py_ssize_t i = 0; rc == 0 && i < PyTuple_GET_SIZE(absent); i++) {
            PyObject *pair = PyTuple_GET_ITEM(absent, i);
            PyObject *fid = PyTuple_GET_ITEM(pair, 0), *nexts = PyTuple_GET_ITEM(pair, 1);
            if (fidset_maybe(in_f, fid)) {
                if (flat_get(fl, fid)) continue;
                if (PyErr_Occurred()) { rc = -1; break; }
            }
            int in_arrays = X && fidset_maybe(in_x, fid) ? PyDict_Contains(X, fid) : 0;
            if (in_arrays < 0) { rc = -1; break; }
            if (!in_arrays) {
                rc = push_all(&todo, nexts);
                continue;
            }
            /* absent among some elements only: walk_arrays confirms in path order */
            for (Py_ssize_t j = 0; rc == 0 && j < PyTuple_GET_SIZE(nexts); j++) {
                PyObject *item = PyTuple_Pack(3, PyTuple_GET_ITEM(nexts, j), Py_None, Py_True);
                rc = item ? PyList_Append(arrays, item) : -1;
                Py_XDECREF(item);
            }
        }
    }
    fl->todo = todo;
    fl->tmp = tmp;
    return rc;
}

/* match(root, trie, numkey, event) -> set of rule names. */
static PyObject *match(PyObject *self, PyObject *const *args, Py_ssize_t nargs) {
    if (!G.ready) {
        PyErr_SetString(PyExc_RuntimeError, "_speedups.init() was not called");
        return NULL;
    }
    if (nargs != 4 || !Py_IS_TYPE(args[1], G.PathNode) || !(PyDict_Check(args[3]) || Py_IS_TYPE(args[3], RawType))) {
        PyErr_SetString(PyExc_TypeError, "match(root, trie: PathNode, numkey, event: dict | msgspec.Raw)");
        return NULL;
    }
    /* the event last: functools.partial binds the rest for a batch of events (Machine.batch_match) */
    PyObject *root = args[0], *trie = args[1], *numkey = args[2], *event = args[3];
    PyObject *children = SLOT(trie, G.pn_children);
    /* The flattened event is large (FID_BITS pointers) and never cleared: on the heap, kept
     * between matches (flat_take), with only its bit sets zeroed. */
    Flat *fl = flat_take();
    if (!fl) return NULL;
    PyObject *out = PySet_New(NULL), *arrays = PyList_New(0), *F = NULL;
    if (!out || !arrays) goto fail;
    if (PyDict_GET_SIZE(children)
        && (PyDict_Check(event) ? flatten_object(event, children, fl) : flatten_raw(event, trie, trie, fl)) < 0)
        goto fail;
    if (walk(root, fl, numkey, out, arrays) < 0) goto fail;
    if (PyList_GET_SIZE(arrays)) {
        F = flat_dict(fl);
        if (!F) goto fail;
        PyObject *r = PyObject_CallFunctionObjArgs(G.walk_arrays, arrays, F, fl->X, numkey, out, NULL);
        if (!r) goto fail;
        Py_DECREF(r);
        Py_DECREF(F);
    }
    flat_free(fl);
    Py_DECREF(arrays);
    return out;
fail:
    Py_XDECREF(F);
    flat_free(fl);
    Py_XDECREF(out);
    Py_XDECREF(arrays);
    return NULL;
}

static PyObject *init_raw(PyObject *self, PyObject *type) {
    (void)self;
    if (!PyType_Check(type)) {
        PyErr_SetString(PyExc_TypeError, "init_raw(msgspec.Raw)");
        return NULL;
    }
    Py_XSETREF(RawType, (PyTypeObject *)Py_NewRef(type));
    Py_RETURN_NONE;
}

static PyMethodDef methods[] = {
    {"init", init, METH_VARARGS, "Register the machine's classes (once, from _engines.py)."},
    {"init_raw", init_raw, METH_O, "Register msgspec.Raw, the JSON text compact() makes (once)."},
    {"compact", compact, METH_O,
     "compact(text) -> bytes | None: a JSON object as msgspec re-encodes it, None when not certain."},
    {"compact_raw", compact_raw, METH_O, "compact_raw(text) -> msgspec.Raw | None: compact(), as a Raw."},
    {"envelope", envelope, METH_O,
     "envelope(event) -> str | None: a bus envelope of str, list and Raw values as msgspec writes it."},
    {"match", (PyCFunction)(void (*)(void))match, METH_FASTCALL,
     "match(root, trie, numkey, event) -> set: flatten the event and walk the machine."},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {
    PyModuleDef_HEAD_INIT, "_speedups", "The pattern engine's hot path in C (see _engines.py).", -1,
    methods,
};

PyMODINIT_FUNC PyInit__speedups(void) { return PyModule_Create(&module); }
