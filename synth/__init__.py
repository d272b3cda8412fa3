"""Drawing labelled text lines: corpus, fonts and their glyphs, backgrounds, the line itself
(draw), and contact sheets of shards (sheet). The render stage is stages/render.py."""
