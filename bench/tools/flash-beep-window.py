#!/usr/bin/env python3
"""Flashes the whole X screen white and plays a 100-ms 1-kHz beep into PulseAudio at the same instant,
once a second, then prints the wall-clock times (µs) at which each flash was drawn and each beep written:
the reference for bench/tools/desktop-av-offset.ts. Needs python3-tk and pacat (pulseaudio-utils).

The window covers the screen (no window manager on a bare X server); the flash is flushed to the X
server before its time is read. The beep is written to an idle `pacat` stream asking for 2 ms of
latency, so it starts playing when it is written (no silence is queued ahead of it).
Usage: DISPLAY=… PULSE_SERVER=… flash-beep-window.py SECONDS SINK"""
import math, struct, subprocess, sys, time, tkinter

seconds, sink = int(sys.argv[1]), sys.argv[2]
beep = b''.join(struct.pack('<h', int(16000 * math.sin(2 * math.pi * 1000 * i / 48000))) for i in range(4800))
pacat = subprocess.Popen(['pacat', '--raw', '--format=s16le', '--rate=48000', '--channels=1', '--latency-msec=2', f'--device={sink}'],
                         stdin=subprocess.PIPE, bufsize=0)
root = tkinter.Tk()
root.overrideredirect(True)
root.geometry(f'{root.winfo_screenwidth()}x{root.winfo_screenheight()}+0+0')
root.configure(background='black')
root.update()
time.sleep(0.5)
start = time.time() + 1.0
events = []
for k in range(seconds):
    due = start + k
    while time.time() < due - 0.002:
        time.sleep(0.001)
    while time.time() < due:
        pass
    root.configure(background='white')
    root.update()
    shown = time.time()
    pacat.stdin.write(beep)
    events.append((shown, time.time()))
    time.sleep(0.07)
    root.configure(background='black')
    root.update()
for shown, played in events:
    print(int(shown * 1e6), int(played * 1e6), flush=True)
pacat.stdin.close()
pacat.wait()
