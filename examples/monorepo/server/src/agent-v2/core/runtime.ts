export const runtime = { model: process.env.AGENT_MODEL };
