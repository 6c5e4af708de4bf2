// A model file reaching up into storage: the layering check must reject this tree.
#include "storage/soci/soci_store.h"
