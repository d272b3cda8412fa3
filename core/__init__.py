"""What every stage shares, and nothing else: params by section, paths, the charset file,
labels in file names, the shard format, atomic files, the font manifest, locks, the Keras
backend and the InputError family. Modules here import only each other and third-party code."""
