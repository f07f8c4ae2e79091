export const db = { url: process.env.DATABASE_URL };
