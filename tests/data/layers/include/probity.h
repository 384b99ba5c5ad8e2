/* probity.h - the public header of the fake tree */
