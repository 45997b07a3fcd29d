/*
 * store_schema.h: the SQL migrations that store.c applies at start-up.
 * Private to store.c and its test; nothing else includes this.
 */
#ifndef MTASTS_STORE_SCHEMA_H
#define MTASTS_STORE_SCHEMA_H

#include <stddef.h>

/*
 * Migration k (1-based) takes a database from user_version k-1 to k.  Its
 * text ends by setting PRAGMA user_version; the store checks that it did.
 */
struct mtasts_store_migration {
	int		 version;	/* user_version after it ran */
	const char	*file;		/* "001-initial.sql", for messages */
	const char	*sql;		/* the file's exact text */
};

extern const struct mtasts_store_migration	mtasts_store_migrations[];
extern const size_t				mtasts_store_nmigrations;

#endif /* MTASTS_STORE_SCHEMA_H */
