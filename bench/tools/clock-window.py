#!/usr/bin/env python3
"""Shows the wall clock on the whole X screen as a block code, redrawn every few milliseconds, for
`npm run bench -- screen` (screen to eye): a 6×4 grid of blocks, black or white — 20 bits of the time
in ms (mod 2^20, most significant first, row by row) and 4 bits of check (the number of white blocks
among those 20, mod 16). The time is read just before each drawing is flushed to the X server, so a
frame grabbed from the screen shows a time no later than the moment it was grabbed: latency measured
from it is never less than the real one. Needs python3-tk.
Usage: DISPLAY=… clock-window.py SECONDS"""
import sys, time, tkinter

seconds = float(sys.argv[1])
root = tkinter.Tk()
root.overrideredirect(True)
width, height = root.winfo_screenwidth(), root.winfo_screenheight()
root.geometry(f'{width}x{height}+0+0')
canvas = tkinter.Canvas(root, width=width, height=height, highlightthickness=0, background='black')
canvas.pack()
cols, rows = 6, 4
bw, bh = width // cols, height // rows
blocks = [canvas.create_rectangle(c * bw, r * bh, (c + 1) * bw, (r + 1) * bh, width=0, fill='black')
          for r in range(rows) for c in range(cols)]
end = time.time() + seconds
shown = None
while time.time() < end:
    ms = int(time.time() * 1000) & 0xFFFFF
    if ms != shown:
        bits = [(ms >> (19 - i)) & 1 for i in range(20)]
        check = sum(bits) % 16
        bits += [(check >> (3 - i)) & 1 for i in range(4)]
        for block, bit in zip(blocks, bits):
            canvas.itemconfigure(block, fill='white' if bit else 'black')
        root.update()
        shown = ms
    time.sleep(0.002)
