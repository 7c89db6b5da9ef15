/**
 * Screen capture beyond X11: the ffmpeg arguments each platform's grabber gets (the macOS and Windows
 * devices cannot run here, so their arguments are checked against ffmpeg's documented options), and
 * the options that are refused with a message naming them.
 */
import t from 'tap';
import { parseOptions, UsageError, type CaptureOptions } from '../options.ts';
import { audioArgs, inputArgs } from '../sources.ts';
import { planStreams, timelineArgs } from '../timeline.ts';

const parse = (args: string[], platform: NodeJS.Platform) =>
  parseOptions(['--source', 'screen', ...args], { DISPLAY: ':9' }, platform) as CaptureOptions;
const input = (args: string[], platform: NodeJS.Platform) => inputArgs(parse(args, platform), { DISPLAY: ':9' });

t.test('the default grabber follows the platform', async (t) => {
  t.same(input([], 'linux'), ['-f', 'x11grab', '-framerate', '30', '-draw_mouse', '1', '-i', ':9']);
  t.same(input([], 'darwin'), [
    '-f',
    'avfoundation',
    '-framerate',
    '30',
    '-capture_cursor',
    '1',
    '-pixel_format',
    'uyvy422',
    '-i',
    'Capture screen 0:none',
  ]);
  t.same(input([], 'win32'), ['-f', 'gdigrab', '-framerate', '30', '-draw_mouse', '1', '-i', 'desktop']);
  t.same(input(['--grabber', 'ddagrab'], 'win32'), ['-f', 'lavfi', '-i', 'ddagrab=output_idx=0:framerate=30:draw_mouse=1']);
  t.equal(
    (await planStreams(parse(['--grabber', 'ddagrab'], 'win32'))).videoFilter,
    'hwdownload,format=bgra',
    'GPU frames are downloaded before the clock anchor',
  );
});

t.test('a window or a region', async (t) => {
  t.same(input(['--window', '0x3a00007'], 'linux'), [
    '-f',
    'x11grab',
    '-framerate',
    '30',
    '-draw_mouse',
    '1',
    '-window_id',
    '0x3a00007',
    '-i',
    ':9',
  ]);
  t.same(input(['--region', '1280x720+100+50'], 'linux'), [
    '-f',
    'x11grab',
    '-framerate',
    '30',
    '-draw_mouse',
    '1',
    '-video_size',
    '1280x720',
    '-i',
    ':9+100,50',
  ]);
  t.same(input(['--window', 'Untitled - Notepad'], 'win32'), [
    '-f',
    'gdigrab',
    '-framerate',
    '30',
    '-draw_mouse',
    '1',
    '-i',
    'title=Untitled - Notepad',
  ]);
  t.same(input(['--region', '640x360+10+20'], 'win32'), [
    '-f',
    'gdigrab',
    '-framerate',
    '30',
    '-draw_mouse',
    '1',
    '-offset_x',
    '10',
    '-offset_y',
    '20',
    '-video_size',
    '640x360',
    '-i',
    'desktop',
  ]);
  t.same(input(['--grabber', 'ddagrab', '--display', '1', '--region', '640x360+10+20'], 'win32'), [
    '-f',
    'lavfi',
    '-i',
    'ddagrab=output_idx=1:framerate=30:draw_mouse=1:offset_x=10:offset_y=20:video_size=640x360',
  ]);
  const mac = parse(['--display', '1', '--region', '800x600+0+40'], 'darwin');
  t.same(inputArgs(mac).at(-1), 'Capture screen 1:none');
  const plan = await planStreams(mac);
  t.equal(plan.videoFilter, 'crop=800:600:0:40', 'avfoundation has no region option: a crop');
  t.match(timelineArgs(plan, 5)[1], /^\[0:v:0\]crop=800:600:0:40,setpts=PTS-STARTPTS/, 'the crop runs before the clock anchor');
});

t.test('system sound where the platform offers it', async (t) => {
  const linux = parse(['--audio', 'system'], 'linux');
  t.same(linux.audio, { kind: 'pulse', device: '@DEFAULT_MONITOR@' }, "PulseAudio's monitor of the default output");
  t.same(inputArgs(linux, { DISPLAY: ':9' }).slice(-4), ['-f', 'pulse', '-i', '@DEFAULT_MONITOR@']);
  t.match(
    await planStreams(linux),
    { video: '0:v:0', audio: '1:a:0', clock: 'wall' },
    'the screen and its sound on the wall clock both stamp',
  );
  t.same(audioArgs(parse(['--audio', 'dshow:Stereo Mix'], 'win32').audio), ['-f', 'dshow', '-i', 'audio=Stereo Mix']);
  t.same(audioArgs(parse(['--audio', 'avfoundation:2'], 'darwin').audio), ['-f', 'avfoundation', '-i', 'none:2']);
  const silent = parse([], 'linux');
  t.match(await planStreams(silent), { audio: null, clock: 'wall' });
});

t.test('what a grabber does not offer is refused, naming the option', async (t) => {
  const cases: Array<[string[], NodeJS.Platform, RegExp]> = [
    [['--grabber', 'dshow'], 'win32', /--grabber must be one of/],
    [['--window', 'Safari'], 'darwin', /--window is not offered by avfoundation/],
    [['--window', 'Firefox'], 'linux', /--window for x11grab is an X11 window id/],
    [['--region', '640x360'], 'linux', /--region must be WxH\+X\+Y/],
    [['--region', '641x360+0+0'], 'linux', /even width and height/],
    [['--window', '0x1', '--region', '640x360+0+0'], 'linux', /cannot both be given/],
    [['--display', 'main'], 'darwin', /--display for avfoundation is a screen index/],
    [['--audio', 'system'], 'win32', /Stereo Mix/],
    [['--audio', 'system'], 'darwin', /BlackHole/],
    [['--audio', 'alsa:hw0'], 'linux', /--audio must be none, system/],
  ];
  for (const [args, platform, message] of cases) t.throws(() => parse(args, platform), { name: UsageError.name, message }, args.join(' '));
  t.throws(() => parseOptions(['--source', 'test', '--window', 'x'], {}), { message: /--window is for --source screen only/ });
});

t.test('stereo settings for the new session', async (t) => {
  t.same((parseOptions(['--strength', '0.05', '--convergence', '0.5'], {}) as CaptureOptions).settings, {
    stereo_strength: 0.05,
    convergence: 0.5,
  });
  t.same((parseOptions([], {}) as CaptureOptions).settings, {}, "none given: the server's defaults");
  t.throws(() => parseOptions(['--strength', '0.5'], {}), { message: /^--strength: must be a number from 0 to 0.1/ });
  t.throws(() => parseOptions(['--convergence', 'x'], {}), { message: /^--convergence: must be a number from 0 to 1/ });
});

t.test('one clock per capture: which streams share which clock, and the arguments for each', async (t) => {
  const origin = 1_700_000_000_000_000;
  const test = await planStreams(parseOptions(['--source', 'test'], {}) as CaptureOptions);
  t.same(test, { video: '0:v:0', audio: '1:a:0', videoFilter: null, clock: 'media' });
  t.same(
    timelineArgs(test, origin),
    [
      '-filter_complex',
      `[0:v:0]setpts=PTS+(RTCSTART-${origin})/(TB*1000000)[v];[1:a:0]asetpts=PTS+(RTCSTART-${origin})/(TB*1000000)[a]`,
      '-map',
      '[v]',
      '-map',
      '[a]',
      '-vsync',
      'vfr',
      '-enc_time_base:v',
      '1:90000',
    ],
    'a shared media clock: one graph, so one RTCSTART moves both streams',
  );
  const x11 = timelineArgs(await planStreams(parse(['--audio', 'system'], 'linux')), origin);
  t.same(
    x11.slice(0, 3),
    ['-copyts', '-filter_complex', `[0:v:0]setpts=PTS-(${origin})/(TB*1000000)[v];[1:a:0]asetpts=PTS-(${origin})/(TB*1000000)[a]`],
    'wall-clock devices keep their own capture stamps, less the origin',
  );
  const mac = await planStreams(parse(['--audio', 'avfoundation:1'], 'darwin'));
  t.equal(mac.clock, 'device');
  t.same(
    timelineArgs(mac, origin).filter((a) => a === '-filter_complex').length,
    2,
    'devices with clocks of their own: a graph, and an anchor, per stream',
  );
  t.equal((await planStreams(parse(['--audio', 'dshow:Stereo Mix'], 'win32'))).clock, 'device', 'dshow sound has its own clock');
});

t.test('a file is probed: its sound is optional, its picture is not, and an unreadable file is named', async (t) => {
  const { mkdtemp, writeFile, rm } = await import('node:fs/promises');
  const os = await import('node:os');
  const path = await import('node:path');
  const { execFile } = await import('node:child_process');
  const { promisify } = await import('node:util');
  const { defaultFfmpeg } = await import('../ffmpeg-path.ts');
  const ffmpeg = defaultFfmpeg(process.env);
  const dir = await mkdtemp(path.join(os.tmpdir(), 'stereospot-probe-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  const make = (name: string, args: string[]) => promisify(execFile)(ffmpeg, ['-v', 'error', ...args, '-t', '0.5', path.join(dir, name)]);
  await make('silent.mp4', ['-f', 'lavfi', '-i', 'testsrc2=size=64x64']);
  await make('sound.m4a', ['-f', 'lavfi', '-i', 'sine']);
  await writeFile(path.join(dir, 'junk.mp4'), 'not a video');
  const file = (name: string) => parseOptions(['--source', `file:${path.join(dir, name)}`], {}) as CaptureOptions;
  t.match(await planStreams(file('silent.mp4')), { video: '0:v:0', audio: null, clock: 'media' }, 'a file without sound');
  await t.rejects(planStreams(file('sound.m4a')), { message: /sound\.m4a has no video stream/ });
  await t.rejects(planStreams(file('junk.mp4')), { message: /cannot read .*junk\.mp4: Invalid data/ });
});
