/*
 * standalone.c: main() for fuzz targets in builds without libFuzzer.  Feeds
 * each file named on the command line (or every file of a directory) to the
 * target once, so the seed corpus runs in every "make check", sanitizers on
 * or off.
 */
#include <config.h>

#include <sys/stat.h>

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"

#define FUZZ_MAX_INPUT	(1024 * 1024)

static int
run_file(const char *path)
{
	FILE		*fp;
	unsigned char	*data;
	size_t		 n;

	if ((fp = fopen(path, "rb")) == NULL) {
		fprintf(stderr, "%s: %s\n", path, strerror(errno));
		return -1;
	}
	if ((data = malloc(FUZZ_MAX_INPUT)) == NULL) {
		fclose(fp);
		fprintf(stderr, "out of memory\n");
		return -1;
	}
	n = fread(data, 1, FUZZ_MAX_INPUT, fp);
	if (ferror(fp)) {
		fprintf(stderr, "%s: read error\n", path);
		free(data);
		fclose(fp);
		return -1;
	}
	fclose(fp);
	LLVMFuzzerTestOneInput(data, n);
	free(data);
	return 0;
}

static int
run_path(const char *path, int *count)
{
	struct stat	 st;
	struct dirent	*de;
	DIR		*dir;
	char		 sub[4096];
	int		 rc = 0;

	if (stat(path, &st) == -1) {
		fprintf(stderr, "%s: %s\n", path, strerror(errno));
		return -1;
	}
	if (!S_ISDIR(st.st_mode)) {
		(*count)++;
		return run_file(path);
	}
	if ((dir = opendir(path)) == NULL) {
		fprintf(stderr, "%s: %s\n", path, strerror(errno));
		return -1;
	}
	while ((de = readdir(dir)) != NULL) {
		if (de->d_name[0] == '.')
			continue;
		if ((size_t)snprintf(sub, sizeof(sub), "%s/%s", path,
		    de->d_name) >= sizeof(sub))
			continue;
		if (run_path(sub, count) == -1)
			rc = -1;
	}
	closedir(dir);
	return rc;
}

int
main(int argc, char *argv[])
{
	int	i, count = 0, rc = 0;

	if (argc < 2) {
		fprintf(stderr, "usage: %s file|dir ...\n", argv[0]);
		return 2;
	}
	for (i = 1; i < argc; i++)
		if (run_path(argv[i], &count) == -1)
			rc = 1;
	printf("%s: %d inputs run\n", argv[0], count);
	return rc;
}
