// A public header exposing a heavy dependency: the layering check must reject this tree.
#include <soci/soci.h>
