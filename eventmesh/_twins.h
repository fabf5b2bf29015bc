/* What the C twins share (docs/architecture.md, "The C twins"): reading the Python classes they
 * were told about through their slots. */
#ifndef EVENTMESH_TWINS_H
#define EVENTMESH_TWINS_H

#include <Python.h>
#include <structmember.h>

/* A slot's value: the object at ``off`` bytes into ``obj`` (NULL when the slot is unset). */
#define SLOT(obj, off) (*(PyObject **)((char *)(obj) + (off)))

/* The offset of ``type``'s object slot ``name`` (a __slots__ entry or a msgspec field), taken
 * once at init; -1 with TypeError when ``name`` is anything else. */
static int offset_of(PyTypeObject *type, const char *name, Py_ssize_t *out) {
    PyObject *d = PyObject_GetAttrString((PyObject *)type, name);
    if (!d) return -1;
    if (!Py_IS_TYPE(d, &PyMemberDescr_Type) || ((PyMemberDescrObject *)d)->d_member->type != T_OBJECT_EX) {
        PyErr_Format(PyExc_TypeError, "%s.%s is not an object slot", type->tp_name, name);
        Py_DECREF(d);
        return -1;
    }
    *out = ((PyMemberDescrObject *)d)->d_member->offset;
    Py_DECREF(d);
    return 0;
}

#endif
