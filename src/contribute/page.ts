/** The contributor page's HTML and the consent text it shows (versioned: a changed text is a new version). */

export const CONSENT_VERSION = 'contribute-2';

export const CONSENT_TEXT = `You are recording yourself doing a household task so that robots can learn the movement. On this device, the
page turns the recording into a skeleton: the positions of your body and hand joints over time. Only that
skeleton, the boxes you tick below, the task name and this device's quality checks are sent. The video itself
stays on this device and is not uploaded, unless you tick "Keep the video". Your name is not sent: the operator
knows you by a pseudonym. Tick each use you agree to. Nothing is ticked for you, and you can send nothing at all.`;

export const WITHDRAWAL_TEXT = `You can withdraw any episode at any time under "Your episodes" below: the episode and everything derived
from it (motions, exports that hold it) are deleted, and the withdrawal is written to the operator's audit log.
Withdrawing does not affect anything else you sent.`;

/** The scopes the page offers, with their wording (`offered: false` would show a scope greyed out). */
export const SCOPES = [
  { id: 'robot-training', label: 'Robot training', description: 'the skeleton is retargeted onto robots and used to train them (needed to send anything)', offered: true },
  { id: 'research-publication', label: 'Research publication', description: 'figures or examples derived from the skeleton may appear in research papers', offered: true },
  { id: 'release-to-partners', label: 'Release to partners', description: 'the skeleton and robot motions may be shared with the operator\'s partner labs', offered: true },
  { id: 'public-release', label: 'Public release', description: 'the skeleton and robot motions may be published in an open dataset', offered: true },
  { id: 'video-retention', label: 'Keep the video', description: 'the video itself is sent too, and the operator keeps a copy sanitised on arrival (faces blurred, location, device and dates stripped, sound dropped); without this box the video never leaves this device. For a camera recording, tick it before you start recording', offered: true },
];

/** The scope that makes the page send the video (and the server keep a sanitised copy). */
export const VIDEO_SCOPE = 'video-retention';

export const REQUIRED_SCOPE = 'robot-training';

export const PAGE = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>reel2real — contribute</title>
<style>
  body { font: 15px/1.45 system-ui, sans-serif; margin: 0 auto; max-width: 980px; padding: 12px; color: #111; }
  h1 { font-size: 20px; margin: 4px 0 8px; } h2 { font-size: 16px; margin: 16px 0 6px; }
  section { border: 1px solid #ddd; border-radius: 8px; padding: 8px 12px; margin: 8px 0; }
  #consentText, #withdrawal { white-space: pre-line; font-size: 14px; }
  label.scope { display: block; margin: 4px 0; }
  #stageBox { position: relative; display: inline-block; max-width: 100%; }
  #video, #overlay, #picture { width: 640px; max-width: 100%; display: block; }
  #overlay, #picture { position: absolute; left: 0; top: 0; }
  #picture[hidden] { display: none; }
  #checks { list-style: none; padding: 0; } #checks li { margin: 2px 0; }
  #checks .ok { color: #15803d; } #checks .fail { color: #b91c1c; } #checks .pending { color: #92400e; }
  #status.error { color: #b91c1c; font-weight: 600; } #status { min-height: 1.5em; }
  button { font: inherit; padding: 6px 14px; margin-right: 6px; }
  .muted { color: #555; font-size: 13px; }
</style>
</head>
<body>
<h1>reel2real — contribute a recording <span id="who" class="muted"></span></h1>
<p id="tokenMissing" hidden>This page needs the personal link your operator gave you (it ends in <code>#token=…</code>).</p>
<div id="status" role="alert"></div>
<section id="task"><h2>1. The task</h2><select id="taskSelect"></select><div id="taskInfo"></div></section>
<section id="consent"><h2>2. Your consent</h2><div id="consentText"></div><div id="scopes"></div><p id="withdrawal" class="muted"></p></section>
<section id="source"><h2>3. Record</h2>
  <button id="useCamera">Use the camera</button> or <label>choose a video file <input id="file" type="file" accept="video/*"></label>
  <span id="runtime" class="muted"></span>
  <div id="stage" hidden>
    <div id="stageBox"><video id="video" playsinline muted></video><canvas id="picture" hidden></canvas><canvas id="overlay"></canvas></div>
    <div><button id="record" disabled>Start recording</button> <span id="rate" class="muted"></span></div>
  </div>
  <ul id="checks"></ul>
</section>
<section id="review" hidden><h2>4. Review</h2><p id="summary"></p>
  <p>What will be sent:</p><ul id="sentList"></ul><p id="notSent"></p>
  <button id="send" disabled>Send</button><button id="discard">Discard</button> <span id="sendNote" class="muted"></span>
  <div id="result"></div>
</section>
<section id="mine"><h2>Your episodes</h2><ul id="episodes"></ul><p id="outboxInfo" class="muted"></p></section>
<script type="module" src="app.js"></script>
</body>
</html>
`;
