"""How the subset files in this folder were made from Debian's font packages.

    python fonts/subset.py /usr/share/fonts/truetype/arphic/ukai.ttc 0 fonts/ukai-cn-gb2312.ttf
    python fonts/subset.py /usr/share/fonts/truetype/crosextra/Carlito-Regular.ttf 0 fonts/latin/carlito.ttf
    python fonts/subset.py /usr/share/fonts/truetype/beteckna/BetecknaGS-Bold.ttf 0 fonts/latin/beteckna-bold.ttf "\"'"

Keeps every GB2312 character (both levels, 7,445), printable ASCII and the CJK
punctuation the default charset uses, with all layout features and names, so
the repository carries ~4 MB per CJK face instead of ~20 MB; a Latin face keeps
its ASCII and the few GB2312 symbols it has (~60 KB). The licences allow
modified copies; they travel in licenses/.

An optional fourth argument lists characters to leave out, for a face whose glyph
is another character's (Beteckna's bold and italic draw ASCII " and ' as the curly
” and ’, which the charset holds apart): the face then never draws them.
"""

import sys

from fontTools import subset
from fontTools.ttLib import TTFont


def gb2312_characters() -> set[str]:
    chars = set()
    for high in range(0xA1, 0xF8):
        for low in range(0xA1, 0xFF):
            try:
                chars.add(bytes([high, low]).decode("gb2312"))
            except UnicodeDecodeError:
                pass
    return chars


if __name__ == "__main__":
    source, face, target = sys.argv[1], int(sys.argv[2]), sys.argv[3]
    drop = set(sys.argv[4]) if len(sys.argv) > 4 else set()
    keep = gb2312_characters() | {chr(c) for c in range(0x20, 0x7F)} | set("￥％，。、；：？！“”‘’（）《》【】…—·")
    keep -= drop
    options = subset.Options()
    options.layout_features = ["*"]
    options.name_IDs = ["*"]
    options.name_languages = ["*"]
    options.notdef_outline = True
    font = TTFont(source, fontNumber=face)
    subsetter = subset.Subsetter(options)
    subsetter.populate(unicodes=[ord(c) for c in keep])
    subsetter.subset(font)
    font.save(target)
