import { gql, session, type Viewer } from './api.js';
import { h, replace } from './dom.js';
import { renderEventPage } from './screens/event-page.js';
import { renderEvents } from './screens/events.js';
import { renderIntegrations } from './screens/integrations.js';
import { renderLive } from './screens/live.js';
import { renderPipeline } from './screens/pipeline.js';

/** Hash routes: #/live, #/events, #/events/<id>, #/integrations, #/pipeline. */
const app = document.getElementById('app')!;
let viewer: Viewer | undefined;
let leave: (() => void) | undefined;

export interface Screen {
  viewer: Viewer;
  main: HTMLElement;
  /** Registers what to stop (a subscription, a timer) when the operator leaves the screen. */
  onLeave(stop: () => void): void;
}

function signIn(message?: string): void {
  const key = h('input', { type: 'password', name: 'key', autocomplete: 'off', 'data-testid': 'key', placeholder: 'management key' });
  const note = h('div', { class: 'error' }, message ?? '');
  const form = h(
    'form',
    {
      class: 'signin',
      onsubmit: (event: Event) => {
        event.preventDefault();
        session.signIn(key.value.trim());
        void start();
      },
    },
    h('h1', {}, 'Hookgate'),
    h('p', {}, 'Sign in with a management key. It stays in this tab only (session storage) and is sent with each request.'),
    key,
    h('button', { type: 'submit', 'data-testid': 'sign-in' }, 'Sign in'),
    note,
  );
  replace(app, form);
  key.focus();
}

function route(): void {
  if (!viewer) return;
  leave?.();
  const stops: (() => void)[] = [];
  leave = () => stops.splice(0).forEach((stop) => stop());
  const path = location.hash.replace(/^#/, '') || '/live';
  const links = [
    ['/live', 'Live'],
    ['/events', 'Events'],
    ['/integrations', 'Integrations'],
    ['/pipeline', 'Pipeline'],
  ].map(([href, label]) => h('a', { href: `#${href}`, class: path.startsWith(href!) ? 'active' : '', 'data-testid': `nav-${label!.toLowerCase()}` }, label));
  const main = h('main', { 'data-testid': 'screen' });
  const signOut = h('button', { class: 'link', 'data-testid': 'sign-out', onclick: () => (session.signOut(), (viewer = undefined), signIn()) }, 'Sign out');
  replace(
    app,
    h('header', {}, h('strong', {}, 'Hookgate'), h('nav', {}, links), h('span', { class: 'who', 'data-testid': 'viewer' }, viewer.actor, viewer.readOnly ? ' (read-only)' : ''), signOut),
    main,
  );
  const screen: Screen = { viewer, main, onLeave: (stop) => stops.push(stop) };
  const eventMatch = /^\/events\/([0-9a-f-]{36})$/.exec(path);
  const rendering = eventMatch
    ? renderEventPage(screen, eventMatch[1]!)
    : path.startsWith('/events')
      ? renderEvents(screen)
      : path.startsWith('/integrations')
        ? renderIntegrations(screen)
        : path.startsWith('/pipeline')
          ? renderPipeline(screen)
          : renderLive(screen);
  rendering.catch((error: unknown) => replace(main, h('div', { class: 'error' }, (error as Error).message)));
}

async function start(): Promise<void> {
  if (!session.key()) return signIn();
  try {
    viewer = (await gql<{ viewer: Viewer }>('{ viewer { actor readOnly } }')).viewer;
  } catch (error) {
    session.signOut();
    return signIn(`Sign-in refused: ${(error as Error).message}`);
  }
  route();
}

window.addEventListener('hashchange', route);
void start();
