"""`python -m ablate.bench [--gpu | --where]`: see `ablate.bench.cpu`."""

from ablate.bench.cpu import main

main()
