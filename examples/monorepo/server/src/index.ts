import { greet } from "./routes/hello";
