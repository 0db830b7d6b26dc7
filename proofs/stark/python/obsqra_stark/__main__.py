"""python -m obsqra_stark [--json] FILE: the verdict `obsqra-verify` prints; exit 0 VALID, 1 INVALID, 2 unreadable.

FILE is a proof file (*.proof.json) or a decision bundle (*.bundle.zip).
"""

import argparse
import sys
from pathlib import Path

from ._stark import report


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m obsqra_stark", description=__doc__.splitlines()[0])
    parser.add_argument("file", help="proof file or decision bundle, or - for standard input")
    parser.add_argument("--json", action="store_true", help="one JSON object on standard output")
    args = parser.parse_args(argv)
    try:
        data = sys.stdin.buffer.read() if args.file == "-" else Path(args.file).read_bytes()
    except OSError as exc:
        print(f"cannot read {args.file}: {exc.strerror}", file=sys.stderr)
        return 2
    valid, text = report(data, args.json)
    print(text, file=sys.stdout if valid or args.json else sys.stderr)
    return 0 if valid else 1


if __name__ == "__main__":
    sys.exit(main())
